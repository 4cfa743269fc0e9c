package pipeline

import (
	"bytes"
	"encoding/binary"
	"errors"
	"time"

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

// ErrNotFound and ErrCASMismatch are the proxy's answers to a read of an
// absent key and to a write whose compare-and-swap version is stale.
var (
	ErrNotFound    = types.ErrorStatusNotFound
	ErrCASMismatch = types.ErrorStatusCasMismatch
)

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
	return update(store, key, func(cur []byte, _ bool) ([]byte, error) { return fn(cur) }, nil)
}

// update is Update with found, which tells an absent key from an empty
// value, and beforeWrite, called (when not nil) just before each attempt
// to store what fn returned.
func update(store SharedStore, key string, fn func(cur []byte, found bool) ([]byte, error), beforeWrite func()) error {
	for range DefaultCASAttempts {
		cur, cas, err := store.Get(key)
		found := true
		switch {
		case errors.Is(err, types.ErrorStatusNotFound):
			cur, cas, found = nil, 0, false
		case err != nil:
			return err
		}
		next, err := fn(cur, found)
		if err != nil {
			if errors.Is(err, ErrUnchanged) {
				return nil
			}
			return err
		}
		if beforeWrite != nil {
			beforeWrite()
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

// MaxLeases bounds a lease list, so that a compare-and-swap, which copies
// the whole list in and out of the host, copies at most about 16 KB.
const MaxLeases = 1000

// ErrLimit is returned by Leases.Acquire when the list holds as many live
// leases as the limit allows.
var ErrLimit = errors.New("shared leases: at limit")

// ErrNotCreated is returned by Leases.Acquire when the list's key does not
// exist: Leases.Create makes it at plugin start. Envoy treats the version
// 0 that a read of an absent key returns as "write unconditionally", so two
// VMs creating the list with their first leases at once would each
// overwrite the other's.
var ErrNotCreated = errors.New("shared leases: the list was not created at plugin start")

// Leases is a bounded list of leases kept in one shared-data value, seen by
// every VM of a vm_id: slots counted across workers (active faults, and
// later breaker probes or retry budgets). A lease is a random 64-bit id and
// an expiry; it is released by id, and a lease whose holder never releases
// it (its VM trapped, say) stops counting when it expires. Every update is
// a compare-and-swap loop bounded by DefaultCASAttempts.
type Leases struct {
	Store SharedStore
	Key   string
	// Observe, when set, is given the number of live leases the list will
	// hold, just before each attempt to write it. A VM writes only after
	// reading the previous write, and observes before writing, so across
	// VMs the last call made is the last successful write's: a gauge set
	// here follows the shared count. A losing attempt's call is corrected
	// by its retry, or by the next write.
	Observe func(live int)
}

// leaseFormat is the first byte of a lease list; each lease follows as
// 8 bytes of id and 8 of expiry (Unix nanoseconds), big-endian.
const (
	leaseFormat = 1
	leaseSize   = 16
)

// Create stores an empty list unless the key exists already. Call it at
// plugin start, before the first Acquire; several VMs creating it at once
// only write the same empty list.
func (l Leases) Create() error {
	_, _, err := l.Store.Get(l.Key)
	if !errors.Is(err, types.ErrorStatusNotFound) {
		return err
	}
	return l.Store.Set(l.Key, []byte{leaseFormat}, 0)
}

// Acquire adds a lease id expiring at expires unless, at now, the list
// holds limit live leases already (limit is taken as MaxLeases when it is
// not between 1 and MaxLeases): then it returns ErrLimit. Expired leases
// are dropped on the way; acquiring an id the list holds renews it. Any
// error means the lease was not taken: ErrLimit, ErrNotCreated,
// ErrContention or the store's.
func (l Leases) Acquire(id uint64, expires time.Time, limit int, now time.Time) error {
	if limit < 1 || limit > MaxLeases {
		limit = MaxLeases
	}
	return l.update(now, func(list []byte) ([]byte, error) {
		if i := findLease(list, id); i >= 0 {
			binary.BigEndian.PutUint64(list[i+8:], uint64(expires.UnixNano()))
			return list, nil
		}
		if (len(list)-1)/leaseSize >= limit {
			return nil, ErrLimit
		}
		list = binary.BigEndian.AppendUint64(list, id)
		return binary.BigEndian.AppendUint64(list, uint64(expires.UnixNano())), nil
	})
}

// Release removes the lease id, and any that expired by now. A lease that
// is gone already (it expired and another update dropped it) is no error.
func (l Leases) Release(id uint64, now time.Time) error {
	err := l.update(now, func(list []byte) ([]byte, error) {
		i := findLease(list, id)
		if i < 0 {
			return list, nil
		}
		return append(list[:i], list[i+leaseSize:]...), nil
	})
	if errors.Is(err, ErrNotCreated) {
		return nil // nothing to release
	}
	return err
}

// Live is the number of leases unexpired at now: 0 when the list is
// absent or unreadable.
func (l Leases) Live(now time.Time) int {
	cur, _, err := l.Store.Get(l.Key)
	if err != nil {
		return 0
	}
	return (len(liveLeases(cur, now)) - 1) / leaseSize
}

// update runs change on the list of live leases at now (a fresh copy) and
// writes what it returns, unless nothing changed at all.
func (l Leases) update(now time.Time, change func(list []byte) ([]byte, error)) error {
	var live int
	var observe func()
	if l.Observe != nil {
		observe = func() { l.Observe(live) }
	}
	return update(l.Store, l.Key, func(cur []byte, found bool) ([]byte, error) {
		if !found {
			return nil, ErrNotCreated
		}
		list := liveLeases(cur, now)
		pruned := len(list) != len(cur)
		next, err := change(list)
		if err != nil {
			return nil, err
		}
		if !pruned && bytes.Equal(next, cur) {
			return nil, ErrUnchanged
		}
		live = (len(next) - 1) / leaseSize
		return next, nil
	}, observe)
}

// liveLeases returns a new list holding the leases of cur unexpired at now.
// A value that is no lease list (another format, a torn write) reads as an
// empty list, which the next write replaces.
func liveLeases(cur []byte, now time.Time) []byte {
	out := make([]byte, 1, len(cur)+leaseSize)
	out[0] = leaseFormat
	if len(cur) < 1 || cur[0] != leaseFormat || (len(cur)-1)%leaseSize != 0 {
		return out
	}
	at := now.UnixNano()
	for i := 1; i < len(cur); i += leaseSize {
		if int64(binary.BigEndian.Uint64(cur[i+8:])) > at {
			out = append(out, cur[i:i+leaseSize]...)
		}
	}
	return out
}

// findLease returns the offset of lease id in list, or -1.
func findLease(list []byte, id uint64) int {
	for i := 1; i+leaseSize <= len(list); i += leaseSize {
		if binary.BigEndian.Uint64(list[i:]) == id {
			return i
		}
	}
	return -1
}
