package codegen

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"strconv"
	"strings"
)

// renderConfig is what render needs besides the scan.
type renderConfig struct {
	pkgName      string // package clause of the generated file
	importPath   string // import path of the scanned package when the file is elsewhere
	registerFunc string
}

// render returns the generated file for pkg, gofmt'ed.
func render(pkg *pkgInfo, cfg renderConfig) ([]byte, error) {
	if pkg.topLevel[cfg.registerFunc] && cfg.importPath == "" {
		return nil, fmt.Errorf("%s is already declared in package %s: choose another RegisterFunc", cfg.registerFunc, pkg.name)
	}
	// Import names must not collide with the package's own identifiers
	// (only when the file is in the scanned package) or with each other.
	taken := map[string]bool{cfg.registerFunc: true, "s": true, "err": true}
	if cfg.importPath == "" {
		for n := range pkg.topLevel {
			taken[n] = true
		}
	}
	pick := func(base string) string {
		name := base
		for i := 2; taken[name]; i++ {
			name = base + strconv.Itoa(i)
		}
		taken[name] = true
		return name
	}
	liveName := pick("live")
	qual := ""
	if cfg.importPath != "" {
		qual = pick(pkg.name) + "."
	}

	var b bytes.Buffer
	b.WriteString(Header + "\n\n")
	fmt.Fprintf(&b, "package %s\n\n", cfg.pkgName)
	if qual == "" {
		b.WriteString("import ")
		writeImport(&b, liveName, LivePath)
	} else {
		// gofmt sorts the imports of a group; a blank line keeps the
		// scanned package apart from live.
		b.WriteString("import (\n\t")
		writeImport(&b, strings.TrimSuffix(qual, "."), cfg.importPath)
		b.WriteString("\n\t")
		writeImport(&b, liveName, LivePath)
		b.WriteString(")\n")
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "// %s registers the live components and rooms of package %s with s.\n", cfg.registerFunc, pkg.name)
	b.WriteString("// Regenerate it with go generate after changing them.\n")
	fmt.Fprintf(&b, "func %s(s *%s.Server) error {\n", cfg.registerFunc, liveName)
	for _, e := range pkg.entries {
		if qual != "" && !ast.IsExported(e.typeName) {
			return nil, fmt.Errorf("%s: type %s is unexported, so a file of another package cannot register it", e.file, e.typeName)
		}
		typ := qual + e.typeName
		if e.kind == kindRoom {
			fmt.Fprintf(&b, "\t// Room %s (%s).\n", e.typeName, e.file)
			fmt.Fprintf(&b, "\tif err := %s.RegisterRoom(s, %s.Room[%s]{\n", liveName, liveName, typ)
			fmt.Fprintf(&b, "\t\tName: %s,\n", strconv.Quote(e.name))
			if e.maxMembers > 0 {
				fmt.Fprintf(&b, "\t\tMaxMembers: %d,\n", e.maxMembers)
			}
			if e.codec != "" {
				fmt.Fprintf(&b, "\t\tCodec: %s,\n", strconv.Quote(e.codec))
			}
			if e.newFunc != "" {
				fmt.Fprintf(&b, "\t\tNew: %s%s,\n", qual, e.newFunc)
			}
			b.WriteString("\t}); err != nil {\n\t\treturn err\n\t}\n")
			continue
		}
		switch e.actionsSrc {
		case actionsMarker:
			fmt.Fprintf(&b, "\t// Component %s (%s): actions from its //live:actions marker.\n", e.typeName, e.file)
		case actionsMethod:
			fmt.Fprintf(&b, "\t// Component %s (%s): actions from its LiveActions method.\n", e.typeName, e.file)
		default:
			fmt.Fprintf(&b, "\t// Component %s (%s): actions from its exported action methods.\n", e.typeName, e.file)
		}
		fmt.Fprintf(&b, "\tif err := %s.Register(s, %s.Component[%s]{\n", liveName, liveName, typ)
		fmt.Fprintf(&b, "\t\tName: %s,\n", strconv.Quote(e.name))
		if e.actionsSrc == actionsMethod {
			fmt.Fprintf(&b, "\t\tActions: new(%s).LiveActions(),\n", typ)
		} else {
			fmt.Fprintf(&b, "\t\tActions: %s,\n", stringSlice(e.actions))
		}
		if len(e.writable) > 0 {
			fmt.Fprintf(&b, "\t\tWritable: %s,\n", stringSlice(e.writable))
		}
		if e.singleton {
			b.WriteString("\t\tSingleton: true,\n")
		}
		if e.newFunc != "" {
			fmt.Fprintf(&b, "\t\tNew: %s%s,\n", qual, e.newFunc)
		}
		b.WriteString("\t}); err != nil {\n\t\treturn err\n\t}\n")
	}
	b.WriteString("\treturn nil\n}\n")
	out, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("format generated code: %w", err)
	}
	return out, nil
}

func writeImport(b *bytes.Buffer, name, path string) {
	if name == path[strings.LastIndex(path, "/")+1:] && name != "live" {
		fmt.Fprintf(b, "%s\n", strconv.Quote(path))
		return
	}
	fmt.Fprintf(b, "%s %s\n", name, strconv.Quote(path))
}

// stringSlice writes a []string literal.
func stringSlice(v []string) string {
	q := make([]string, len(v))
	for i, s := range v {
		q[i] = strconv.Quote(s)
	}
	return "[]string{" + strings.Join(q, ", ") + "}"
}
