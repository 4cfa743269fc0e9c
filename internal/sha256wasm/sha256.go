// Package sha256wasm implements SHA-256 (FIPS 180-4) in portable Go laid
// out for GOARCH=wasm.
//
// crypto/sha256 has no assembly for Wasm, and its portable block function,
// written for register-rich CPUs, runs about half as fast under V8 as the
// unrolled one here (see blocks). On every other platform crypto/sha256 is
// faster, often several times: hash in bulk with this package only in Wasm
// builds. A filter that hashes a few short values may use it everywhere so
// that its module does not link crypto/sha256 (faults does). The
// package builds everywhere so that its tests, which compare it with
// crypto/sha256, run natively too.
package sha256wasm

import (
	"encoding/binary"
	"errors"
	"hash"
)

// Size is the size of a SHA-256 checksum in bytes.
const Size = 32

// BlockSize is the block size of SHA-256 in bytes.
const BlockSize = 64

// initial is the initial hash value H(0) (FIPS 180-4, 5.3.3): the first 32
// bits of the fractional parts of the square roots of the first 8 primes.
var initial = [8]uint32{
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
}

// digest is a running SHA-256 hash.
type digest struct {
	h    [8]uint32       // the hash value after the blocks processed so far
	buf  [BlockSize]byte // the start of a block not yet processed
	nbuf int             // bytes of buf in use, less than BlockSize
	len  uint64          // bytes written since the last Reset
}

// New returns a new SHA-256 hash.Hash. It also implements
// encoding.BinaryMarshaler, encoding.BinaryAppender,
// encoding.BinaryUnmarshaler and hash.Cloner, with the same marshaled form
// as crypto/sha256.
func New() hash.Hash {
	d := new(digest)
	d.Reset()
	return d
}

// Sum256 returns the SHA-256 checksum of data.
func Sum256(data []byte) [Size]byte {
	var d digest
	d.Reset()
	d.Write(data)
	return d.checkSum()
}

func (d *digest) Reset() {
	d.h = initial
	d.nbuf = 0
	d.len = 0
}

func (d *digest) Size() int { return Size }

func (d *digest) BlockSize() int { return BlockSize }

func (d *digest) Write(p []byte) (int, error) {
	n := len(p)
	d.len += uint64(n)
	if d.nbuf > 0 {
		c := copy(d.buf[d.nbuf:], p)
		d.nbuf += c
		p = p[c:]
		if d.nbuf < BlockSize {
			return n, nil
		}
		blocks(&d.h, d.buf[:])
		d.nbuf = 0
	}
	if len(p) >= BlockSize {
		whole := len(p) &^ (BlockSize - 1)
		blocks(&d.h, p[:whole])
		p = p[whole:]
	}
	d.nbuf = copy(d.buf[:], p)
	return n, nil
}

// Sum appends the checksum of the data written so far to b. The hash
// state is unchanged: writing may go on.
func (d *digest) Sum(b []byte) []byte {
	sum := d.checkSum()
	return append(b, sum[:]...)
}

// checkSum pads the message (FIPS 180-4, 5.1.1) into one or two final
// blocks and returns the hash value they lead to, leaving d as it was.
// The padding is a 1 bit, zeros up to 8 bytes short of a block boundary,
// and the message length in bits as a 64-bit big-endian number.
func (d *digest) checkSum() [Size]byte {
	var tail [2 * BlockSize]byte
	n := copy(tail[:], d.buf[:d.nbuf])
	tail[n] = 0x80
	end := BlockSize
	if n >= BlockSize-8 {
		end = 2 * BlockSize
	}
	binary.BigEndian.PutUint64(tail[end-8:end], d.len<<3)
	h := d.h
	blocks(&h, tail[:end])
	var out [Size]byte
	for i, v := range h {
		binary.BigEndian.PutUint32(out[4*i:], v)
	}
	return out
}

// The marshaled state is the one crypto/sha256 uses, so that either can
// resume the other's: magic, the hash value as 8 big-endian words, the
// buffered bytes zero-padded to a block, and the length in bytes as a
// big-endian uint64.
const (
	magic         = "sha\x03"
	marshaledSize = len(magic) + 8*4 + BlockSize + 8
)

func (d *digest) MarshalBinary() ([]byte, error) {
	return d.AppendBinary(make([]byte, 0, marshaledSize))
}

func (d *digest) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, magic...)
	for _, v := range d.h {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	b = append(b, d.buf[:d.nbuf]...)
	b = append(b, make([]byte, BlockSize-d.nbuf)...)
	return binary.BigEndian.AppendUint64(b, d.len), nil
}

func (d *digest) UnmarshalBinary(b []byte) error {
	if len(b) < len(magic) || string(b[:len(magic)]) != magic {
		return errors.New("sha256wasm: invalid hash state identifier")
	}
	if len(b) != marshaledSize {
		return errors.New("sha256wasm: invalid hash state size")
	}
	b = b[len(magic):]
	for i := range d.h {
		d.h[i] = binary.BigEndian.Uint32(b[4*i:])
	}
	b = b[8*4:]
	copy(d.buf[:], b[:BlockSize])
	d.len = binary.BigEndian.Uint64(b[BlockSize:])
	d.nbuf = int(d.len % BlockSize)
	clear(d.buf[d.nbuf:])
	return nil
}

func (d *digest) Clone() (hash.Cloner, error) {
	c := *d
	return &c, nil
}
