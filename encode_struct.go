package live

import (
	"reflect"
	"strings"
	"sync"
)

// structEncoder compiles an encoder for a plain struct type: exported,
// non-embedded fields whose json tag is at most a simple name and
// "omitempty". It writes what encoding/json (HTML escaping off) writes
// for the type, field by field with encoderFor, without boxing the value
// or consulting encoding/json's type cache. Anything it does not model
// (embedded fields and their promotion rules, the "string" and "omitzero"
// options, names outside [A-Za-z0-9_-], duplicate names) makes it return
// nil, and the caller keeps encodeGeneric.
func structEncoder(t reflect.Type) fieldEncoder {
	type field struct {
		index     int
		key       []byte // `"name":`
		omitEmpty bool
		enc       fieldEncoder
	}
	var fields []field
	seen := map[string]bool{}
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.Anonymous {
			return nil
		}
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		omitEmpty := false
		for opts != "" {
			var opt string
			opt, opts, _ = strings.Cut(opts, ",")
			switch opt {
			case "omitempty":
				omitEmpty = true
			case "":
			default:
				return nil // "string", "omitzero", or one we do not know
			}
		}
		if name == "" {
			name = sf.Name
		}
		if !plainJSONName(name) || seen[name] {
			return nil
		}
		seen[name] = true
		fields = append(fields, field{index: i, key: appendKey(nil, name), omitEmpty: omitEmpty, enc: encoderFor(sf.Type)})
	}
	return func(dst []byte, v reflect.Value) ([]byte, error) {
		dst = append(dst, '{')
		first := true
		for i := range fields {
			f := &fields[i]
			fv := v.Field(f.index)
			if f.omitEmpty && isEmptyJSONValue(fv) {
				continue
			}
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = append(dst, f.key...)
			var err error
			if dst, err = f.enc(dst, fv); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	}
}

// plainJSONName reports whether name is made of letters, digits, '_' and
// '-' only: a key encoding/json takes from a tag as it is.
func plainJSONName(name string) bool {
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
		default:
			return false
		}
	}
	return name != ""
}

// isEmptyJSONValue is encoding/json's test for "omitempty".
func isEmptyJSONValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}

// valueEncoders caches encoderFor by type for marshalValue, whose values
// (action results, emits) come as interfaces.
var valueEncoders sync.Map // reflect.Type → fieldEncoder

func cachedEncoderFor(t reflect.Type) fieldEncoder {
	if enc, ok := valueEncoders.Load(t); ok {
		return enc.(fieldEncoder)
	}
	enc, _ := valueEncoders.LoadOrStore(t, encoderFor(t))
	return enc.(fieldEncoder)
}
