package pipeline

import (
	"encoding/binary"
	"errors"
	"strconv"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// QueueHost is the proxy's shared queues: a plugin registers a queue by
// name and is told when something is put in it; any VM of the same vm_id
// resolves the name and puts messages in.
type QueueHost interface {
	Register(name string) (id uint32, err error)
	Resolve(name string) (id uint32, err error)
	Enqueue(id uint32, msg []byte) error
	// Dequeue returns ErrQueueEmpty when nothing is left.
	Dequeue(id uint32) ([]byte, error)
}

// ErrQueueEmpty is the proxy's answer to a dequeue of an empty queue.
var ErrQueueEmpty = types.ErrorStatusEmpty

// HostQueues is the QueueHost of the running host.
var HostQueues QueueHost = hostQueues{}

type hostQueues struct{}

func (hostQueues) Register(name string) (uint32, error) { return proxywasm.RegisterSharedQueue(name) }
func (hostQueues) Resolve(name string) (uint32, error) {
	return proxywasm.ResolveSharedQueue("", name) // "": the plugin's own vm_id
}
func (hostQueues) Enqueue(id uint32, msg []byte) error { return proxywasm.EnqueueSharedQueue(id, msg) }
func (hostQueues) Dequeue(id uint32) ([]byte, error)   { return proxywasm.DequeueSharedQueue(id) }

// Broadcast limits. A member that has not renewed its heartbeat for
// memberTTL is gone: peers stop writing to its queue and a new member may
// take its slot (and its queue, with whatever was left in it).
const (
	maxMembers      = 64
	heartbeatPeriod = time.Second
	memberTTL       = 5 * time.Second
	memberSize      = 16 // token (8 bytes) and heartbeat (unix nanoseconds, 8 bytes)
	maxDrain        = 1024
)

// A Broadcaster sends short messages from one plugin to the plugins of
// every other worker VM that joined the same topic, through one shared
// queue per member. Members are listed in one shared-data key, renewed on
// the plugin's timer; delivery takes a turn of the receiving worker's
// event loop, so a receiver may act on old knowledge for that long. A
// plugin that cannot join (no free slot, no queues) stays alone: Send
// does nothing and Joined says so, and its stage must not rely on being
// told.
type Broadcaster struct {
	env     *Env
	queues  QueueHost
	topic   string
	key     string // the member list in shared data
	receive func(msg []byte)
	token   uint64
	slot    int // -1 until joined
	own     uint32
	peers   []uint32 // queue ids of live peers
	tokens  [maxMembers]uint64
	ids     [maxMembers]uint32
}

// Broadcast joins the plugin to topic: receive is called, in the plugin's
// context, with each message another member sends. The membership is
// renewed every second; a plugin that cannot join is logged and runs
// alone.
func (e *Env) Broadcast(topic string, receive func(msg []byte)) *Broadcaster {
	b := &Broadcaster{env: e, queues: e.Queues, topic: topic, key: "steadfast." + topic + ".members",
		receive: receive, slot: -1}
	if b.queues == nil || e.timers == nil {
		return b
	}
	for b.token == 0 {
		b.token = uint64(e.Rand() * (1 << 63))
	}
	if err := b.renew(); err != nil {
		e.Log.Warnf("steadfast: cannot join the %s broadcast yet (%v): this worker reads shared state on every request until it does", topic, err)
	}
	if err := e.Every(heartbeatPeriod, func() { _ = b.renew() }); err != nil {
		// Unrenewed, the membership would lapse while this plugin trusts it.
		e.Log.Warnf("steadfast: no timer for the %s broadcast (%v): this worker reads shared state on every request", topic, err)
		b.slot = -1
		b.peers = nil
	}
	return b
}

// Joined reports whether the plugin receives what its peers send.
func (b *Broadcaster) Joined() bool { return b.slot >= 0 }

// Send puts msg in the queue of every member alive now. The member list
// is read afresh, so a member that joined before the change being
// announced hears of it, and one that joins later reads the change itself.
// Errors are dropped: receivers forget what they know after a while
// anyway, so a lost message costs a later read, never a wrong decision
// for long.
func (b *Broadcaster) Send(msg []byte) {
	if b.slot < 0 {
		return
	}
	if list, _, err := b.env.Shared.Get(b.key); err == nil {
		b.findPeers(list, b.env.Now().UnixNano())
	}
	for _, id := range b.peers {
		_ = b.queues.Enqueue(id, msg)
	}
}

// drain delivers what is in the plugin's own queue.
func (b *Broadcaster) drain() {
	for range maxDrain {
		msg, err := b.queues.Dequeue(b.own)
		if err != nil {
			return
		}
		b.receive(msg)
	}
}

var errNoSlot = errors.New("every broadcast slot is taken")

// renew claims a slot (first time, or after losing it), renews the
// heartbeat, and reads which peers are alive.
func (b *Broadcaster) renew() error {
	now := b.env.Now().UnixNano()
	slot := b.slot
	var list []byte
	err := Update(b.env.Shared, b.key, func(cur []byte) ([]byte, error) {
		list = cur
		slot = b.slot
		if slot < 0 || slot*memberSize+memberSize > len(cur) || binary.LittleEndian.Uint64(cur[slot*memberSize:]) != b.token {
			slot = freeSlot(cur, now)
			if slot < 0 {
				return nil, errNoSlot
			}
		}
		next := make([]byte, max(len(cur), slot*memberSize+memberSize))
		copy(next, cur)
		binary.LittleEndian.PutUint64(next[slot*memberSize:], b.token)
		binary.LittleEndian.PutUint64(next[slot*memberSize+8:], uint64(now))
		list = next
		return next, nil
	})
	if err != nil {
		return err
	}
	if slot != b.slot {
		id, err := b.queues.Register(b.queueName(slot))
		if err != nil {
			return err
		}
		b.slot, b.own = slot, id
		if b.env.queueReady != nil {
			b.env.queueReady(id, b.drain)
		}
		b.drain() // what a previous owner of the slot left
	}
	b.findPeers(list, now)
	return nil
}

// findPeers sets peers to the queues of the members of list alive at now.
func (b *Broadcaster) findPeers(list []byte, now int64) {
	b.peers = b.peers[:0]
	for i := 0; i*memberSize+memberSize <= len(list) && i < maxMembers; i++ {
		token := binary.LittleEndian.Uint64(list[i*memberSize:])
		seen := int64(binary.LittleEndian.Uint64(list[i*memberSize+8:]))
		if i == b.slot || token == 0 || now-seen > int64(memberTTL) {
			continue
		}
		if b.tokens[i] != token || b.ids[i] == 0 {
			id, err := b.queues.Resolve(b.queueName(i))
			if err != nil {
				continue // not registered yet: its member reads the state itself
			}
			b.tokens[i], b.ids[i] = token, id
		}
		b.peers = append(b.peers, b.ids[i])
	}
}

// freeSlot is the first slot of list that is empty or whose member's
// heartbeat is older than memberTTL, or -1.
func freeSlot(list []byte, now int64) int {
	for i := range maxMembers {
		if i*memberSize+memberSize > len(list) {
			return i
		}
		token := binary.LittleEndian.Uint64(list[i*memberSize:])
		seen := int64(binary.LittleEndian.Uint64(list[i*memberSize+8:]))
		if token == 0 || now-seen > int64(memberTTL) {
			return i
		}
	}
	return -1
}

func (b *Broadcaster) queueName(slot int) string {
	return "steadfast." + b.topic + ".queue." + strconv.Itoa(slot)
}
