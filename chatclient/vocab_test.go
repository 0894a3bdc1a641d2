package chatclient

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestLongFilterListsAreCheckedInLinearTime(t *testing.T) {
	ids := make([]int64, 200000)
	for i := range ids {
		ids[i] = int64(i + 1)
	}
	_, err := Filter{OrderIDs: ids}.request()
	assert.NoError(t, err)
	ids[len(ids)-1] = 7
	_, err = Filter{OrderIDs: ids}.request()
	var ve *ValidationError
	if assert.ErrorAs(t, err, &ve) {
		assert.Equal(t, "filter.orderIds[199999]", ve.Field)
		assert.Equal(t, "must not repeat filter.orderIds[6]", ve.Rule)
	}
}
