package chatclient

import (
	"runtime/debug"
	"sync"
)

// modulePath is this module's path, as the build info names it.
const modulePath = "github.com/ymchat/ymchat"

// Version returns the version of module github.com/ymchat/ymchat in the running
// program's build: the main module's version when the program is built from it, else
// the version the program requires (a replacement's, when it has one). It is "devel"
// when the build info does not say: a build from a work tree, a test, a module
// replaced by a directory. The User-Agent, the notification receiver's answers and the
// CLI all name it.
func Version() string { return version() }

var version = sync.OnceValue(func() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	v := ""
	if bi.Main.Path == modulePath {
		v = bi.Main.Version
	}
	for _, d := range bi.Deps {
		if d.Path == modulePath {
			v = d.Version
			if d.Replace != nil {
				v = d.Replace.Version
			}
		}
	}
	if v == "" || v == "(devel)" || len(v) > 100 {
		return "devel"
	}
	return v
})
