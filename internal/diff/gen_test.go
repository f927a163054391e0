package diff

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// gen generates random JSON values for property tests. Values are the types
// encoding/json decodes into (map[string]any, []any, string, float64, bool,
// nil) so that they compare directly with decoded output.
type gen struct {
	r *rand.Rand
	// nulls allows null for object members at nesting depth >= 1 (a state
	// holds nulls only at depth 0; deltas hold them anywhere).
	nulls bool
}

func newGen(seed uint64) *gen {
	return &gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// keys is a small alphabet so that random objects share keys often. "é"
// exercises non-ASCII keys; the encoder also spells keys with escapes.
var keys = []string{"a", "b", "c", "d", "e", "é", "k y"}

// object returns a random object at nesting depth (0 for a whole state) whose
// nested objects are at most at depth maxObj.
func (g *gen) object(depth, maxObj int) map[string]any {
	if depth <= 1 && g.r.IntN(12) == 0 {
		// A wide object, beyond smallObject keys, from a larger alphabet.
		n := smallObject + 1 + g.r.IntN(8)
		m := make(map[string]any, n)
		for range n {
			m[fmt.Sprintf("w%d", g.r.IntN(2*n))] = g.value(depth+1, maxObj)
		}
		return m
	}
	n := g.r.IntN(5)
	m := make(map[string]any, n)
	for range n {
		m[keys[g.r.IntN(len(keys))]] = g.value(depth+1, maxObj)
	}
	return m
}

// value returns a random value for a member of an object at depth-1.
func (g *gen) value(depth, maxObj int) any {
	switch k := g.r.IntN(10); {
	case k < 4 && depth <= maxObj:
		return g.object(depth, maxObj)
	case k == 4:
		if depth == 1 || g.nulls {
			return nil
		}
		return true
	case k == 5:
		return g.array(depth, maxObj)
	default:
		return g.scalar()
	}
}

func (g *gen) scalar() any {
	switch g.r.IntN(5) {
	case 0:
		return g.r.IntN(2) == 0
	case 1:
		return float64(g.r.IntN(4))
	case 2:
		return float64(g.r.IntN(100)) / 4
	case 3:
		return []string{"", "x", "y", "a \"q\" \\ b", "é\u2028\n", "q\" z ,"}[g.r.IntN(6)]
	default:
		return float64(-g.r.IntN(3))
	}
}

// array returns a random array; its elements may hold nulls and objects of
// any shape, since arrays are always replaced whole.
func (g *gen) array(depth, maxObj int) []any {
	n := g.r.IntN(4)
	a := make([]any, 0, n)
	for range n {
		switch g.r.IntN(4) {
		case 0:
			a = append(a, nil)
		case 1:
			inner := gen{r: g.r, nulls: true}
			a = append(a, inner.object(depth, depth+1))
		default:
			a = append(a, g.scalar())
		}
	}
	return a
}

// mutate returns a changed deep copy of the object m at depth: members are
// kept, replaced, changed recursively or (below depth 0) removed, and new
// ones are added. At depth 0 every key of m is kept.
func (g *gen) mutate(m map[string]any, depth, maxObj int) map[string]any {
	out := make(map[string]any, len(m))
	for _, k := range sortedKeys(m) {
		v := m[k]
		switch c := g.r.IntN(10); {
		case c < 4:
			out[k] = clone(v)
		case c < 7:
			if sub, ok := v.(map[string]any); ok {
				out[k] = g.mutate(sub, depth+1, maxObj)
			} else {
				out[k] = g.value(depth+1, maxObj)
			}
		case c < 9 || depth == 0:
			out[k] = g.value(depth+1, maxObj)
		default:
			// Removed (depth > 0 only).
		}
	}
	for range g.r.IntN(3) {
		k := keys[g.r.IntN(len(keys))]
		if _, ok := out[k]; !ok {
			out[k] = g.value(depth+1, maxObj)
		}
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func clone(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = clone(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = clone(e)
		}
		return out
	default:
		return v
	}
}

// encode writes v as JSON. With style 0 it is what encoding/json produces;
// otherwise keys come in random order, may be spelled with escapes, and
// insignificant whitespace is sprinkled in.
func (g *gen) encode(v any, style int) []byte {
	if style == 0 {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		return b
	}
	var sb strings.Builder
	g.write(&sb, v)
	return []byte(sb.String())
}

func (g *gen) space(sb *strings.Builder) {
	if g.r.IntN(3) == 0 {
		sb.WriteString([]string{" ", "\n", "\t ", "\r\n  "}[g.r.IntN(4)])
	}
}

func (g *gen) write(sb *strings.Builder, v any) {
	g.space(sb)
	switch v := v.(type) {
	case map[string]any:
		ks := sortedKeys(v)
		g.r.Shuffle(len(ks), func(i, j int) { ks[i], ks[j] = ks[j], ks[i] })
		sb.WriteByte('{')
		g.space(sb)
		for i, k := range ks {
			if i > 0 {
				sb.WriteByte(',')
			}
			g.space(sb)
			if g.r.IntN(4) == 0 {
				// Spell the key fully escaped.
				sb.WriteByte('"')
				for _, c := range k {
					fmt.Fprintf(sb, `\u%04x`, c)
				}
				sb.WriteByte('"')
			} else {
				b, _ := json.Marshal(k)
				sb.Write(b)
			}
			g.space(sb)
			sb.WriteByte(':')
			g.write(sb, v[k])
		}
		g.space(sb)
		sb.WriteByte('}')
	case []any:
		sb.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				sb.WriteByte(',')
			}
			g.write(sb, e)
		}
		g.space(sb)
		sb.WriteByte(']')
	default:
		b, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		sb.Write(b)
	}
	g.space(sb)
}

// conflict reports whether merging delta b into delta a is impossible: a
// holds a non-object where b holds an object, at some path where both have
// values.
func conflict(a, b map[string]any) bool {
	for k, bv := range b {
		av, ok := a[k]
		if !ok {
			continue
		}
		bm, bObj := bv.(map[string]any)
		if !bObj {
			continue
		}
		am, aObj := av.(map[string]any)
		if !aObj || conflict(am, bm) {
			return true
		}
	}
	return false
}
