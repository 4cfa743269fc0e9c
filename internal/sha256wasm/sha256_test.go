package sha256wasm

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"hash"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
)

// The hash.Hash returned by New has the optional interfaces it documents.
var (
	_ encoding.BinaryMarshaler   = (*digest)(nil)
	_ encoding.BinaryAppender    = (*digest)(nil)
	_ encoding.BinaryUnmarshaler = (*digest)(nil)
	_ hash.Cloner                = (*digest)(nil)
)

// knownAnswers are the classic SHA-256 test vectors: NIST's one- and
// two-block examples ("abc" and the 448-bit message), the empty message,
// the 896-bit message of the SHA-512 examples, and FIPS 180-2's one
// million 'a'.
var knownAnswers = []struct {
	name string
	msg  string
	sum  string
}{
	{"empty", "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	{"abc", "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	{"448 bits", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		"248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
	{"896 bits", "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
		"cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
	{"one million a", strings.Repeat("a", 1_000_000), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
}

func TestKnownAnswers(t *testing.T) {
	for _, ka := range knownAnswers {
		t.Run(ka.name, func(t *testing.T) {
			msg := []byte(ka.msg)
			want, err := hex.DecodeString(ka.sum)
			if err != nil {
				t.Fatal(err)
			}
			if got := Sum256(msg); !bytes.Equal(got[:], want) {
				t.Errorf("Sum256 = %x, want %s", got, ka.sum)
			}
			h := New()
			h.Write(msg)
			if got := h.Sum(nil); !bytes.Equal(got, want) {
				t.Errorf("New().Write(msg).Sum = %x, want %s", got, ka.sum)
			}
			// One byte at a time, for all but the million.
			if len(msg) <= 1000 {
				h.Reset()
				for i := range msg {
					h.Write(msg[i : i+1])
				}
				if got := h.Sum(nil); !bytes.Equal(got, want) {
					t.Errorf("byte-by-byte = %x, want %s", got, ka.sum)
				}
			}
			// The expected values are crypto/sha256's too, in case one
			// was mistyped.
			if std := sha256.Sum256(msg); !bytes.Equal(std[:], want) {
				t.Errorf("crypto/sha256 = %x, want %s", std, ka.sum)
			}
		})
	}
}

// TestInitialHashValue derives H(0) as FIPS 180-4, 5.3.3 defines it: the
// first 32 bits of the fractional parts of the square roots of the first
// eight primes, floor(sqrt(p) * 2^32) mod 2^32 = isqrt(p * 2^64) mod 2^32.
func TestInitialHashValue(t *testing.T) {
	mask := big.NewInt(1<<32 - 1)
	for i, p := range []int64{2, 3, 5, 7, 11, 13, 17, 19} {
		r := new(big.Int).Lsh(big.NewInt(p), 64)
		r.Sqrt(r).And(r, mask)
		if got := uint32(r.Uint64()); got != initial[i] {
			t.Errorf("H(0)[%d] = %#08x, want %#08x", i, initial[i], got)
		}
	}
}

func TestSizes(t *testing.T) {
	h := New()
	if h.Size() != sha256.Size || Size != sha256.Size {
		t.Errorf("Size = %d, want %d", h.Size(), sha256.Size)
	}
	if h.BlockSize() != sha256.BlockSize || BlockSize != sha256.BlockSize {
		t.Errorf("BlockSize = %d, want %d", h.BlockSize(), sha256.BlockSize)
	}
}

// randomBytes returns n bytes from r.
func randomBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// splitWrite writes msg to both hashes in pieces of random sizes, small
// ones and ones longer than a block, and compares their Sums at random
// points in between.
func splitWrite(t *testing.T, r *rand.Rand, got, want hash.Hash, msg []byte) {
	t.Helper()
	for len(msg) > 0 {
		var n int
		switch r.IntN(4) {
		case 0:
			n = r.IntN(4)
		case 1:
			n = r.IntN(BlockSize + 1)
		case 2:
			n = r.IntN(4*BlockSize + 1)
		default:
			n = r.IntN(len(msg) + 1)
		}
		n = min(n, len(msg))
		if c, err := got.Write(msg[:n]); c != n || err != nil {
			t.Fatalf("Write of %d bytes = %d, %v", n, c, err)
		}
		want.Write(msg[:n])
		msg = msg[n:]
		if r.IntN(8) == 0 {
			if g, w := got.Sum(nil), want.Sum(nil); !bytes.Equal(g, w) {
				t.Fatalf("Sum mid-stream = %x, want %x", g, w)
			}
		}
	}
}

// TestEveryLength compares with crypto/sha256 every message length up to
// 1024 bytes, hashed at once, through Sum256, and in random pieces.
func TestEveryLength(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	h := New()
	for n := 0; n <= 1024; n++ {
		msg := randomBytes(r, n)
		want := sha256.Sum256(msg)
		if got := Sum256(msg); got != want {
			t.Fatalf("len %d: Sum256 = %x, want %x", n, got, want)
		}
		h.Reset()
		h.Write(msg)
		if got := h.Sum(nil); !bytes.Equal(got, want[:]) {
			t.Fatalf("len %d: one Write = %x, want %x", n, got, want)
		}
		h.Reset()
		std := sha256.New()
		splitWrite(t, r, h, std, msg)
		if got := h.Sum(nil); !bytes.Equal(got, want[:]) {
			t.Fatalf("len %d: split Writes = %x, want %x", n, got, want)
		}
	}
}

// TestLargeMessages compares random messages of up to 2 MiB, in random
// pieces.
func TestLargeMessages(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	sizes := []int{1 << 10, 64 << 10, 1 << 20, 1<<20 + 1, 2<<20 - 7}
	for range 20 {
		sizes = append(sizes, r.IntN(300<<10))
	}
	for _, n := range sizes {
		msg := randomBytes(r, n)
		want := sha256.Sum256(msg)
		if got := Sum256(msg); got != want {
			t.Fatalf("len %d: Sum256 = %x, want %x", n, got, want)
		}
		h, std := New(), sha256.New()
		splitWrite(t, r, h, std, msg)
		if got := h.Sum(nil); !bytes.Equal(got, want[:]) {
			t.Fatalf("len %d: split Writes = %x, want %x", n, got, want)
		}
	}
}

// TestSum checks that Sum appends to its argument and leaves the state
// alone, however often it is called.
func TestSum(t *testing.T) {
	h := New()
	h.Write([]byte("hello, "))
	prefix := []byte("prefix")
	first := h.Sum(prefix[:len(prefix):len(prefix)])
	if !bytes.HasPrefix(first, prefix) || len(first) != len(prefix)+Size {
		t.Fatalf("Sum(prefix) = %x", first)
	}
	want := sha256.Sum256([]byte("hello, "))
	if !bytes.Equal(first[len(prefix):], want[:]) {
		t.Fatalf("Sum = %x, want %x", first[len(prefix):], want)
	}
	if again := h.Sum(nil); !bytes.Equal(again, want[:]) {
		t.Fatalf("second Sum = %x, want %x", again, want)
	}
	h.Write([]byte("world"))
	want = sha256.Sum256([]byte("hello, world"))
	if got := h.Sum(nil); !bytes.Equal(got, want[:]) {
		t.Fatalf("Sum after more writes = %x, want %x", got, want)
	}
	// Sum into a buffer with room does not allocate a new one.
	buf := make([]byte, 0, Size)
	if got := h.Sum(buf); &got[0] != &buf[:1][0] {
		t.Error("Sum did not append into the buffer's capacity")
	}
}

func TestReset(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	h := New()
	for _, n := range []int{0, 1, 63, 64, 65, 1000} {
		h.Write(randomBytes(r, n))
		h.Reset()
		msg := randomBytes(r, 100)
		h.Write(msg)
		if got, want := h.Sum(nil), sha256.Sum256(msg); !bytes.Equal(got, want[:]) {
			t.Fatalf("after %d bytes and Reset: %x, want %x", n, got, want)
		}
		h.Reset()
		if got, want := h.Sum(nil), sha256.Sum256(nil); !bytes.Equal(got, want[:]) {
			t.Fatalf("Reset then Sum = %x, want %x", got, want)
		}
	}
}

// TestHMAC runs crypto/hmac over both hashes, with keys shorter than,
// equal to and longer than a block.
func TestHMAC(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, keyLen := range []int{0, 1, 20, 63, 64, 65, 200} {
		key := randomBytes(r, keyLen)
		for _, n := range []int{0, 1, 55, 56, 64, 1000, 64 << 10} {
			msg := randomBytes(r, n)
			got, want := hmac.New(New, key), hmac.New(sha256.New, key)
			splitWrite(t, r, got, want, msg)
			if g, w := got.Sum(nil), want.Sum(nil); !hmac.Equal(g, w) {
				t.Fatalf("key %d, msg %d: HMAC = %x, want %x", keyLen, n, g, w)
			}
			// hmac's Reset restores the keyed state, through
			// MarshalBinary when the hash has it.
			got.Reset()
			want.Reset()
			got.Write(msg)
			want.Write(msg)
			if g, w := got.Sum(nil), want.Sum(nil); !hmac.Equal(g, w) {
				t.Fatalf("key %d, msg %d: HMAC after Reset = %x, want %x", keyLen, n, g, w)
			}
		}
	}
	// RFC 4231, test case 2.
	m := hmac.New(New, []byte("Jefe"))
	m.Write([]byte("what do ya want for nothing?"))
	if got := hex.EncodeToString(m.Sum(nil)); got != "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" {
		t.Errorf("RFC 4231 case 2 = %s", got)
	}
}

// TestMarshal checks that a state marshaled by either implementation
// resumes in the other, at every buffered length.
func TestMarshal(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	msg := randomBytes(r, 300)
	for split := 0; split <= 200; split++ {
		want := sha256.Sum256(msg)
		ours, std := New(), sha256.New()
		ours.Write(msg[:split])
		std.Write(msg[:split])

		stdState, err := std.(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		ourState, err := ours.(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ourState, stdState) {
			t.Fatalf("split %d: MarshalBinary = %x, crypto/sha256's %x", split, ourState, stdState)
		}
		appended, _ := ours.(encoding.BinaryAppender).AppendBinary([]byte("x"))
		if !bytes.Equal(appended, append([]byte("x"), stdState...)) {
			t.Fatalf("split %d: AppendBinary = %x", split, appended)
		}

		// Ours resumes crypto/sha256's state, into a hash that held
		// other data.
		resumed := New()
		resumed.Write(randomBytes(r, 77))
		if err := resumed.(encoding.BinaryUnmarshaler).UnmarshalBinary(stdState); err != nil {
			t.Fatalf("split %d: %v", split, err)
		}
		resumed.Write(msg[split:])
		if got := resumed.Sum(nil); !bytes.Equal(got, want[:]) {
			t.Fatalf("split %d: resumed from crypto/sha256 = %x, want %x", split, got, want)
		}

		// crypto/sha256 resumes ours.
		stdResumed := sha256.New()
		if err := stdResumed.(encoding.BinaryUnmarshaler).UnmarshalBinary(ourState); err != nil {
			t.Fatalf("split %d: crypto/sha256 refuses our state: %v", split, err)
		}
		stdResumed.Write(msg[split:])
		if got := stdResumed.Sum(nil); !bytes.Equal(got, want[:]) {
			t.Fatalf("split %d: crypto/sha256 resumed from ours = %x, want %x", split, got, want)
		}
	}

	good, _ := New().(encoding.BinaryMarshaler).MarshalBinary()
	sha224State, _ := sha256.New224().(encoding.BinaryMarshaler).MarshalBinary()
	for _, bad := range [][]byte{nil, []byte("sha"), good[:len(good)-1], append(good, 0), sha224State} {
		if err := New().(encoding.BinaryUnmarshaler).UnmarshalBinary(bad); err == nil {
			t.Errorf("UnmarshalBinary(%x) accepted", bad)
		}
	}
}

func TestClone(t *testing.T) {
	h := New()
	h.Write([]byte("shared prefix "))
	c, err := h.(hash.Cloner).Clone()
	if err != nil {
		t.Fatal(err)
	}
	clone := c.(hash.Hash)
	h.Write([]byte("one"))
	clone.Write([]byte("two"))
	for _, tc := range []struct {
		h   hash.Hash
		msg string
	}{{h, "shared prefix one"}, {clone, "shared prefix two"}} {
		if got, want := tc.h.Sum(nil), sha256.Sum256([]byte(tc.msg)); !bytes.Equal(got, want[:]) {
			t.Errorf("%q: %x, want %x", tc.msg, got, want)
		}
	}
}

func TestSum256DoesNotAllocate(t *testing.T) {
	msg := make([]byte, 1000)
	if n := testing.AllocsPerRun(10, func() { Sum256(msg) }); n != 0 {
		t.Errorf("Sum256 allocates %v times", n)
	}
}

// FuzzSHA256 compares with crypto/sha256 on any message, written in up to
// three pieces split where the fuzzer says, with a Sum after each.
func FuzzSHA256(f *testing.F) {
	for _, ka := range knownAnswers[:4] {
		f.Add([]byte(ka.msg), uint16(0), uint16(0))
	}
	f.Add(make([]byte, 200), uint16(55), uint16(64))
	f.Add(bytes.Repeat([]byte{0xff}, 129), uint16(63), uint16(65))
	f.Fuzz(func(t *testing.T, msg []byte, split1, split2 uint16) {
		want := sha256.Sum256(msg)
		if got := Sum256(msg); got != want {
			t.Fatalf("Sum256 = %x, want %x", got, want)
		}
		i := min(int(split1), len(msg))
		j := min(i+int(split2), len(msg))
		h, std := New(), sha256.New()
		for _, piece := range [][]byte{msg[:i], msg[i:j], msg[j:]} {
			h.Write(piece)
			std.Write(piece)
			if got, want := h.Sum(nil), std.Sum(nil); !bytes.Equal(got, want) {
				t.Fatalf("Sum after pieces [:%d] [%d:%d] = %x, want %x", i, i, j, got, want)
			}
		}
		if got := h.Sum(nil); !bytes.Equal(got, want[:]) {
			t.Fatalf("split at %d and %d: %x, want %x", i, j, got, want)
		}
	})
}

// BenchmarkHash compares the two implementations on this platform; under
// Wasm is where this package should win.
func BenchmarkHash(b *testing.B) {
	for _, size := range []struct {
		name  string
		bytes int
	}{{"1KiB", 1 << 10}, {"64KiB", 64 << 10}, {"1MiB", 1 << 20}} {
		msg := make([]byte, size.bytes)
		for _, impl := range []struct {
			name string
			new  func() hash.Hash
		}{{"sha256wasm", New}, {"crypto-sha256", sha256.New}} {
			b.Run(size.name+"/"+impl.name, func(b *testing.B) {
				h := impl.new()
				var sum [Size]byte
				b.SetBytes(int64(size.bytes))
				b.ReportAllocs()
				for b.Loop() {
					h.Reset()
					h.Write(msg)
					h.Sum(sum[:0])
				}
			})
		}
	}
}
