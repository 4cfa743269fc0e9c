package rx

// MaxProgram is the most instructions an expression may compile to. Every
// rune, assertion, alternative and loop costs about one, and so does each
// piece that compiles to nothing, such as (?:); x{n,m} copies x m times.
// Matching costs at most len(subject) × program size steps.
const MaxProgram = 2000

type opcode uint8

const (
	opRune   opcode = iota // one rune of spans[arg:end], then out
	opSplit                // out and arg both
	opJmp                  // out
	opAssert               // out if assert holds here
	opMatch
)

// inst is one instruction of the program.
type inst struct {
	op     opcode
	assert assertion
	out    int32
	arg    int32
	end    int32
	// ascii has bit r set when the rune instruction matches ASCII r: most
	// header bytes are ASCII, and this skips the search of spans.
	ascii [2]uint64
}

type compiler struct {
	prog    []inst
	spans   []span
	cost    int
	over    bool
	counted int // how many counted repetitions enclose the node compiling
	// overCounted is whether the budget ran out inside a counted repetition.
	overCounted bool
}

// compile turns the tree into a program, or reports that it is too large.
func compile(expr string, n *node) ([]inst, []span, error) {
	c := &compiler{}
	c.gen(n)
	c.emit(inst{op: opMatch})
	if c.over {
		if c.overCounted {
			return nil, nil, &Error{Code: ErrRepeatTooLarge, Expr: expr, Note: "it expands to more than 2000 instructions"}
		}
		return nil, nil, &Error{Code: ErrLarge, Expr: expr, Note: "it compiles to more than 2000 instructions"}
	}
	return c.prog, c.spans, nil
}

// charge counts one unit of work against MaxProgram.
func (c *compiler) charge() bool {
	if c.over {
		return false
	}
	c.cost++
	if c.cost > MaxProgram {
		c.over = true
		c.overCounted = c.counted > 0
		return false
	}
	return true
}

// emit appends i and returns its address; out defaults to the next one.
func (c *compiler) emit(i inst) int32 {
	if !c.charge() {
		return 0
	}
	pc := int32(len(c.prog))
	if i.op != opSplit && i.op != opJmp {
		i.out = pc + 1
	}
	c.prog = append(c.prog, i)
	return pc
}

func (c *compiler) pc() int32 { return int32(len(c.prog)) }

func (c *compiler) gen(n *node) {
	if c.over {
		return
	}
	switch n.kind {
	case kEmpty:
		c.charge()
	case kClass:
		c.genClass(n)
	case kAssert:
		c.emit(inst{op: opAssert, assert: n.assert})
	case kConcat:
		for _, sub := range n.subs {
			c.gen(sub)
		}
	case kAlt:
		c.genAlt(n.subs)
	case kRepeat:
		if n.counted {
			c.counted++
			defer func() { c.counted-- }()
		}
		if n.max == 0 {
			c.charge()
		}
		c.genRepeat(n.subs[0], n.min, n.max)
	}
}

func (c *compiler) genClass(n *node) {
	if !n.compiled {
		n.spans[0] = int32(len(c.spans))
		c.spans = append(c.spans, n.class...)
		n.spans[1] = int32(len(c.spans))
		n.compiled = true
	}
	i := inst{op: opRune, arg: n.spans[0], end: n.spans[1]}
	for _, s := range n.class {
		for r := s.lo; r <= s.hi && r < 128; r++ {
			i.ascii[r>>6] |= 1 << (r & 63)
		}
	}
	c.emit(i)
}

// genAlt compiles a|b|c as split(a, split(b, c)), each branch jumping to
// the end.
func (c *compiler) genAlt(subs []*node) {
	var jumps []int32
	for _, sub := range subs[:len(subs)-1] {
		split := c.emit(inst{op: opSplit})
		c.gen(sub)
		jumps = append(jumps, c.emit(inst{op: opJmp}))
		if c.over {
			return
		}
		c.prog[split].out = split + 1
		c.prog[split].arg = c.pc()
	}
	c.gen(subs[len(subs)-1])
	if c.over {
		return
	}
	for _, j := range jumps {
		c.prog[j].out = c.pc()
	}
}

// genRepeat compiles sub{lo,hi}: lo copies, then a loop when hi is -1, or
// hi-lo optional copies that each may skip to the end.
func (c *compiler) genRepeat(sub *node, lo, hi int) {
	if hi == -1 {
		if lo == 0 {
			loop := c.emit(inst{op: opSplit})
			c.gen(sub)
			c.emit(inst{op: opJmp, out: loop})
			if !c.over {
				c.prog[loop].out = loop + 1
				c.prog[loop].arg = c.pc()
			}
			return
		}
		for range lo - 1 {
			c.gen(sub)
		}
		start := c.pc()
		c.gen(sub)
		split := c.emit(inst{op: opSplit, out: start})
		if !c.over {
			c.prog[split].arg = split + 1
		}
		return
	}
	for range lo {
		c.gen(sub)
	}
	var skips []int32
	for range hi - lo {
		skips = append(skips, c.emit(inst{op: opSplit}))
		c.gen(sub)
		if c.over {
			return
		}
	}
	for _, s := range skips {
		c.prog[s].out = s + 1
		c.prog[s].arg = c.pc()
	}
}
