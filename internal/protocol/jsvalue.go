package protocol

import (
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/live-go/live/internal/jsvalue"
)

// JavaScript conversions applied by the BinaryStateCodec (StateCodec) to
// delta values, on raw JSON values (spans) as JSON.parse would have built
// them. internal/msgpack holds its own copy of the number formatting and
// TextDecoder logic, to keep both packages free of internal imports.

// spanNumber returns ToNumber of the JSON value v.
func spanNumber(data []byte, v span) float64 {
	switch v.kind {
	case kindNumber:
		f, _ := strconv.ParseFloat(string(data[v.start:v.end]), 64) // overflow gives ±Inf, as JSON.parse
		return f
	case kindTrue:
		return 1
	case kindFalse, kindNull:
		return 0
	case kindString:
		return jsStringToNumber(decodeString(data, v))
	case kindArray:
		// ToPrimitive of an array is its join(",").
		return jsStringToNumber(string(appendSpanToString(nil, data, v)))
	}
	return math.NaN() // an object: "[object Object]"
}

// appendSpanToString appends ToString of the JSON value v.
func appendSpanToString(dst, data []byte, v span) []byte {
	switch v.kind {
	case kindString:
		return appendDecoded(dst, data, v)
	case kindNumber:
		f, _ := strconv.ParseFloat(string(data[v.start:v.end]), 64)
		return jsvalue.AppendNumber(dst, f)
	case kindTrue:
		return append(dst, "true"...)
	case kindFalse:
		return append(dst, "false"...)
	case kindNull:
		return append(dst, "null"...)
	case kindArray:
		// Array.prototype.join(","): null elements are empty.
		s := scanner{data: data[:v.end], i: v.start + 1}
		for n := 0; ; n++ {
			s.ws()
			if s.i >= len(s.data) || s.data[s.i] == ']' {
				return dst
			}
			if n > 0 {
				s.i++ // ','
				dst = append(dst, ',')
			}
			e, ok := s.skip(1)
			if !ok {
				return dst
			}
			if e.kind != kindNull {
				dst = appendSpanToString(dst, data, e)
			}
		}
	}
	return append(dst, "[object Object]"...)
}

// isJSSpace reports the characters String.prototype.trim and StringToNumber
// remove: WhiteSpace and LineTerminator.
func isJSSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff:
		return true
	}
	return 0x2000 <= r && r <= 0x200a
}

// jsStringToNumber is JavaScript's ToNumber of a string: surrounding white
// space is ignored, the empty string is 0, decimal literals (with optional
// sign, fraction and exponent), Infinity and the 0x/0o/0b integer forms are
// numbers, anything else is NaN.
func jsStringToNumber(s string) float64 {
	s = strings.TrimFunc(s, isJSSpace)
	if s == "" {
		return 0
	}
	if len(s) > 2 && s[0] == '0' {
		base := 0
		switch s[1] {
		case 'x', 'X':
			base = 16
		case 'o', 'O':
			base = 8
		case 'b', 'B':
			base = 2
		}
		if base != 0 {
			n, ok := new(big.Int).SetString(s[2:], base)
			if !ok || strings.ContainsAny(s[2:], "_+-") {
				return math.NaN()
			}
			f, _ := new(big.Float).SetInt(n).Float64()
			return f
		}
	}
	body := s
	if body[0] == '+' || body[0] == '-' {
		body = body[1:]
	}
	if body == "Infinity" {
		if s[0] == '-' {
			return math.Inf(-1)
		}
		return math.Inf(1)
	}
	if !decimalLiteral(body) {
		return math.NaN()
	}
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

// decimalLiteral matches StrUnsignedDecimalLiteral without Infinity:
// digits [. digits?] or . digits, then an optional exponent.
func decimalLiteral(s string) bool {
	i, intDigits := 0, 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
		intDigits++
	}
	fracDigits := 0
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
			fracDigits++
		}
	}
	if intDigits+fracDigits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		expDigits := 0
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
			expDigits++
		}
		if expDigits == 0 {
			return false
		}
	}
	return i == len(s)
}

// jsToUint32 is JavaScript's ToUint32: NaN and ±Infinity are 0, other
// values are truncated and taken modulo 2^32. ToUint8/16 and ToInt8/16/32
// are its low bits.
func jsToUint32(f float64) uint32 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	m := math.Mod(math.Trunc(f), 1<<32) // exact
	if m < 0 {
		m += 1 << 32
	}
	return uint32(m)
}

// float32Overflow is the smallest magnitude that rounds to Infinity as a
// float32: MaxFloat32 plus half of its ulp.
const float32Overflow = math.MaxFloat32 + 1<<103

// jsFloat32 rounds f to float32 as DataView.setFloat32 does (round half to
// even, overflow to ±Infinity), with every NaN made the canonical one.
func jsFloat32(f float64) uint32 {
	switch {
	case f != f:
		return 0x7fc00000
	case f >= float32Overflow:
		return math.Float32bits(float32(math.Inf(1)))
	case f <= -float32Overflow:
		return math.Float32bits(float32(math.Inf(-1)))
	}
	return math.Float32bits(float32(f))
}

// jsFloat64 returns the bits DataView.setFloat64 writes for f.
func jsFloat64(f float64) uint64 {
	if f != f {
		return 0x7ff8000000000000
	}
	return math.Float64bits(f)
}
