//go:build !wasm

package webhookauth

import "crypto/sha256"

// Natively, SHA-256 is crypto/sha256's (see hash_wasm.go).
var (
	newSHA256 = sha256.New
	sum256    = sha256.Sum256
)
