// Package spectest holds the tests that keep openapi.yaml valid and faithful to the
// vendor documents: structure, the facts the documents state, every vendor example and
// hand-made invalid fixtures. It has no code of its own.
package spectest
