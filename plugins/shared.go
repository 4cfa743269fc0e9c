package plugins

import (
	"encoding/binary"
	"errors"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// SharedStore is proxy-wasm shared data: one key-value store per vm_id,
// seen by every worker's VM, with compare-and-swap versions.
type SharedStore interface {
	Get(key string) (value []byte, cas uint32, err error)
	Set(key string, value []byte, cas uint32) error
}

// HostShared is the SharedStore of the running host.
var HostShared SharedStore = hostShared{}

type hostShared struct{}

func (hostShared) Get(key string) ([]byte, uint32, error) { return proxywasm.GetSharedData(key) }
func (hostShared) Set(key string, value []byte, cas uint32) error {
	return proxywasm.SetSharedData(key, value, cas)
}

// DefaultCASAttempts bounds every compare-and-swap loop: past it the caller
// fails open (treats the update as not done) rather than spin.
const DefaultCASAttempts = 16

// ErrContention means a compare-and-swap loop gave up after
// DefaultCASAttempts because other VMs kept changing the key.
var ErrContention = errors.New("shared data: too much contention")

// ErrUnchanged, returned by an update function, ends Update without writing.
var ErrUnchanged = errors.New("shared data: unchanged")

// Update applies fn to the current value of key (nil when absent) and
// stores the result with compare-and-swap, retrying on conflicts up to
// DefaultCASAttempts times. fn may be called several times and must not
// have side effects; returning ErrUnchanged stops without a write.
func Update(store SharedStore, key string, fn func(cur []byte) ([]byte, error)) error {
	for range DefaultCASAttempts {
		cur, cas, err := store.Get(key)
		switch {
		case errors.Is(err, types.ErrorStatusNotFound):
			cur, cas = nil, 0
		case err != nil:
			return err
		}
		next, err := fn(cur)
		if err != nil {
			if errors.Is(err, ErrUnchanged) {
				return nil
			}
			return err
		}
		err = store.Set(key, next, cas)
		if err == nil {
			return nil
		}
		if !errors.Is(err, types.ErrorStatusCasMismatch) {
			return err
		}
	}
	return ErrContention
}

// ErrLimit is returned by TryAcquire when the counter is at its limit.
var ErrLimit = errors.New("shared counter: at limit")

// TryAcquire increments the shared counter key unless that would take it
// past limit. It returns ErrLimit at the limit, and another error when the
// store failed or was too contended: callers treat both as "not acquired".
func TryAcquire(store SharedStore, key string, limit int64) error {
	return Update(store, key, func(cur []byte) ([]byte, error) {
		n := decodeInt(cur)
		if n >= limit {
			return nil, ErrLimit
		}
		return encodeInt(n + 1), nil
	})
}

// Release decrements the shared counter key, never below zero.
func Release(store SharedStore, key string) error {
	return Update(store, key, func(cur []byte) ([]byte, error) {
		n := decodeInt(cur)
		if n <= 0 {
			return nil, ErrUnchanged
		}
		return encodeInt(n - 1), nil
	})
}

// SharedInt reads the shared counter key (0 when absent or unreadable).
func SharedInt(store SharedStore, key string) int64 {
	cur, _, err := store.Get(key)
	if err != nil {
		return 0
	}
	return decodeInt(cur)
}

func decodeInt(b []byte) int64 {
	if len(b) != 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(b))
}

func encodeInt(n int64) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(n))
}
