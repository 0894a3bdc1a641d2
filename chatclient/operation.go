package chatclient

// Operation names an API operation, as the Market's documents and the errors call it.
type Operation string

// The operations of the chat API.
const (
	OpCreateChat        Operation = "createChat"
	OpGetChat           Operation = "getChat"
	OpGetChats          Operation = "getChats"
	OpGetChatHistory    Operation = "getChatHistory"
	OpGetChatMessage    Operation = "getChatMessage"
	OpSendMessageToChat Operation = "sendMessageToChat"
	OpSendFileToChat    Operation = "sendFileToChat"
)
