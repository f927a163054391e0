package codegen

import (
	"errors"
	"fmt"
	"go/ast"
	"go/build"
	"go/build/constraint"
	"go/parser"
	"go/token"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// srcFile is one Go source file of the scanned package.
type srcFile struct {
	name string // base name
	src  []byte
}

// kind is what a registered type is.
type kind int

const (
	kindComponent kind = iota + 1
	kindRoom
)

func (k kind) String() string {
	if k == kindRoom {
		return "room"
	}
	return "component"
}

// Where the action allow-list of a component comes from.
const (
	actionsDerived = iota // exported methods with an action signature
	actionsMarker         // //live:actions
	actionsMethod         // LiveActions() []string, called at registration
)

// entry is one type to register.
type entry struct {
	kind       kind
	typeName   string
	file       string
	name       string   // registry name (component) or id prefix (room)
	actions    []string // sorted; nil with actionsMethod
	actionsSrc int
	writable   []string
	singleton  bool
	newFunc    string
	maxMembers int
	codec      string
}

// pkgInfo is what a scan found.
type pkgInfo struct {
	name     string
	entries  []entry         // components by name, then rooms by name
	topLevel map[string]bool // package-level identifiers
}

// fileInfo holds per-file facts needed while scanning.
type fileInfo struct {
	name        string
	ast         *ast.File
	liveName    string // local name of the live import ("" if not imported, "." for a dot import)
	constrained bool   // has build constraints: its types exist only in some builds
}

// typeInfo is a candidate type and its methods.
type typeInfo struct {
	file    *fileInfo
	spec    *ast.TypeSpec
	doc     *ast.CommentGroup
	methods []*ast.FuncDecl
	recvOf  map[*ast.FuncDecl]*fileInfo
}

// Hook methods of the live interfaces: they may look like actions but are
// never derived as ones.
var hookMethods = map[string]bool{
	"OnConnect": true, "OnMount": true, "OnRehydrate": true, "OnDisconnect": true, "OnDestroy": true,
	"OnStateChange": true, "OnClientJoin": true, "OnClientLeave": true, "OnRoomJoin": true,
	"OnRoomLeave": true, "BeforeAction": true, "LiveActions": true,
}

// noneContext matches no GOOS and no GOARCH: MatchFile with it rejects
// exactly the files with an _os or _arch name suffix (build constraints are
// checked separately).
var noneContext = build.Context{GOOS: "livegen", GOARCH: "livegen", Compiler: "gc", CgoEnabled: true}

// scan parses the package's files and finds the types to register.
func scan(files []srcFile) (*pkgInfo, error) {
	fset := token.NewFileSet()
	pkg := &pkgInfo{topLevel: map[string]bool{}}
	var parsed []*fileInfo
	for _, f := range files {
		af, err := parser.ParseFile(fset, f.name, f.src, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return nil, fmt.Errorf("parse: %w", err)
		}
		fi := &fileInfo{name: f.name, ast: af}
		ignored, constrained, err := buildConstraints(af, f)
		if err != nil {
			return nil, err
		}
		if ignored {
			continue
		}
		fi.constrained = constrained
		if pkg.name == "" {
			pkg.name = af.Name.Name
		} else if af.Name.Name != pkg.name {
			return nil, fmt.Errorf("%s: package %s, but other files are package %s", f.name, af.Name.Name, pkg.name)
		}
		for _, imp := range af.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			if err != nil || path != LivePath {
				continue
			}
			switch {
			case imp.Name == nil:
				fi.liveName = "live"
			case imp.Name.Name != "_":
				fi.liveName = imp.Name.Name
			}
		}
		parsed = append(parsed, fi)
	}
	if pkg.name == "" {
		return nil, errors.New("no Go files to scan")
	}

	types := map[string]*typeInfo{}
	var order []string
	funcs := map[string]bool{}
	for _, fi := range parsed {
		for _, d := range fi.ast.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					pkg.topLevel[d.Name.Name] = true
					funcs[d.Name.Name] = true
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						pkg.topLevel[s.Name.Name] = true
						doc := s.Doc
						if doc == nil && !d.Lparen.IsValid() {
							doc = d.Doc
						}
						if _, dup := types[s.Name.Name]; !dup {
							order = append(order, s.Name.Name)
						}
						types[s.Name.Name] = &typeInfo{file: fi, spec: s, doc: doc, recvOf: map[*ast.FuncDecl]*fileInfo{}}
					case *ast.ValueSpec:
						for _, n := range s.Names {
							pkg.topLevel[n.Name] = true
						}
					}
				}
			}
		}
	}
	for _, fi := range parsed {
		for _, d := range fi.ast.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv == nil || len(fd.Recv.List) != 1 {
				continue
			}
			if ti := types[recvTypeName(fd.Recv.List[0].Type)]; ti != nil {
				ti.methods = append(ti.methods, fd)
				ti.recvOf[fd] = fi
			}
		}
	}

	names := map[kind]map[string]string{kindComponent: {}, kindRoom: {}}
	for _, tn := range order {
		ti := types[tn]
		e, ok, err := classify(ti, funcs)
		if err != nil {
			return nil, fmt.Errorf("%s: type %s: %w", ti.file.name, tn, err)
		}
		if !ok {
			continue
		}
		if ti.file.constrained {
			return nil, fmt.Errorf("%s: type %s: a file with build constraints cannot declare a live %s (the generated file has none); move it to a file without them or mark it //live:skip", ti.file.name, tn, e.kind)
		}
		if prev, dup := names[e.kind][e.name]; dup {
			return nil, fmt.Errorf("%s: types %s and %s are both registered as %s %q; give one another name with //live:name", ti.file.name, prev, tn, e.kind, e.name)
		}
		names[e.kind][e.name] = tn
		pkg.entries = append(pkg.entries, e)
	}
	slices.SortFunc(pkg.entries, func(a, b entry) int {
		if a.kind != b.kind {
			return int(a.kind) - int(b.kind)
		}
		return strings.Compare(a.name, b.name)
	})
	return pkg, nil
}

// buildConstraints reports whether a file is excluded from every build the
// generator cares about (a //go:build line naming the "ignore" tag), and
// whether it has build constraints at all (a //go:build or // +build line,
// or an _os/_arch name suffix).
func buildConstraints(af *ast.File, f srcFile) (ignored, constrained bool, err error) {
	for _, cg := range af.Comments {
		if cg.Pos() >= af.Package {
			break
		}
		for _, c := range cg.List {
			if !constraint.IsGoBuild(c.Text) && !constraint.IsPlusBuild(c.Text) {
				continue
			}
			constrained = true
			expr, perr := constraint.Parse(c.Text)
			if perr != nil {
				return false, false, fmt.Errorf("%s: %w", f.name, perr)
			}
			mentionsIgnore := false
			expr.Eval(func(tag string) bool {
				if tag == "ignore" {
					mentionsIgnore = true
				}
				return false
			})
			if mentionsIgnore {
				return true, true, nil
			}
		}
	}
	ctx := noneContext
	ctx.OpenFile = func(string) (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(string(f.src))), nil }
	ctx.JoinPath = func(elem ...string) string { return strings.Join(elem, "/") }
	if ok, merr := ctx.MatchFile(".", f.name); merr == nil && !ok {
		constrained = true
	}
	return false, constrained, nil
}

// recvTypeName returns the type name of a method receiver (T, *T, T[K],
// *T[K]), or "".
func recvTypeName(x ast.Expr) string {
	if s, ok := x.(*ast.StarExpr); ok {
		x = s.X
	}
	switch t := x.(type) {
	case *ast.Ident:
		return t.Name
	case *ast.IndexExpr:
		if id, ok := t.X.(*ast.Ident); ok {
			return id.Name
		}
	case *ast.IndexListExpr:
		if id, ok := t.X.(*ast.Ident); ok {
			return id.Name
		}
	}
	return ""
}

// markers are the //live: directives of one type.
type markers struct {
	kind      kind // from //live:component or //live:room
	skip      bool
	singleton bool
	name      string
	actions   []string
	hasAction bool
	writable  []string
	newFunc   string
	maxMem    int
	codec     string
	any       bool // any marker at all
}

// parseMarkers reads the //live: lines of a doc comment.
func parseMarkers(doc *ast.CommentGroup) (markers, error) {
	var m markers
	if doc == nil {
		return m, nil
	}
	seen := map[string]bool{}
	for _, c := range doc.List {
		rest, ok := strings.CutPrefix(c.Text, "//live:")
		if !ok {
			continue
		}
		m.any = true
		key, arg, _ := strings.Cut(rest, " ")
		key, arg = strings.TrimSpace(key), strings.TrimSpace(arg)
		if seen[key] {
			return m, fmt.Errorf("//live:%s given twice", key)
		}
		seen[key] = true
		noArg := func() error {
			if arg != "" {
				return fmt.Errorf("//live:%s takes no argument", key)
			}
			return nil
		}
		var err error
		switch key {
		case "component", "room":
			if err = noArg(); err == nil {
				if m.kind != 0 {
					return m, errors.New("//live:component and //live:room exclude each other")
				}
				m.kind = kindComponent
				if key == "room" {
					m.kind = kindRoom
				}
			}
		case "skip":
			m.skip, err = true, noArg()
		case "singleton":
			m.singleton, err = true, noArg()
		case "name":
			if arg == "" || strings.ContainsAny(arg, " \t") {
				err = errors.New("//live:name takes one name")
			}
			m.name = arg
		case "actions":
			m.hasAction = true
			m.actions, err = nameList(key, arg)
		case "writable":
			m.writable, err = nameList(key, arg)
		case "new":
			if !token.IsIdentifier(arg) {
				err = errors.New("//live:new takes the name of a function of this package")
			}
			m.newFunc = arg
		case "maxmembers":
			n, perr := strconv.Atoi(arg)
			if perr != nil || n <= 0 {
				err = errors.New("//live:maxmembers takes a positive number")
			}
			m.maxMem = n
		case "codec":
			if arg != "json" && arg != "msgpack" {
				err = errors.New(`//live:codec takes "json" or "msgpack"`)
			}
			m.codec = arg
		default:
			err = fmt.Errorf("unknown marker //live:%s", key)
		}
		if err != nil {
			return m, err
		}
	}
	return m, nil
}

// nameList parses "a, b,c" (empty: no names).
func nameList(key, arg string) ([]string, error) {
	out := []string{}
	if arg == "" {
		return out, nil
	}
	for _, p := range strings.Split(arg, ",") {
		p = strings.TrimSpace(p)
		if p == "" || strings.ContainsAny(p, " \t\"`\\") {
			return nil, fmt.Errorf("//live:%s: invalid name %q in %q", key, p, arg)
		}
		if slices.Contains(out, p) {
			return nil, fmt.Errorf("//live:%s: %q listed twice", key, p)
		}
		out = append(out, p)
	}
	return out, nil
}

// embedded reports which live base type st embeds by value, if any.
func embedded(st *ast.StructType, liveName string) (kind, error) {
	if liveName == "" {
		return 0, nil
	}
	var found kind
	for _, f := range st.Fields.List {
		if len(f.Names) != 0 {
			continue
		}
		typ, ptr := f.Type, false
		if s, ok := typ.(*ast.StarExpr); ok {
			typ, ptr = s.X, true
		}
		var name string
		switch t := typ.(type) {
		case *ast.SelectorExpr:
			if id, ok := t.X.(*ast.Ident); ok && id.Name == liveName {
				name = t.Sel.Name
			}
		case *ast.Ident:
			if liveName == "." {
				name = t.Name
			}
		}
		var k kind
		switch name {
		case "Base":
			k = kindComponent
		case "RoomBase":
			k = kindRoom
		default:
			continue
		}
		if ptr {
			return 0, fmt.Errorf("embeds *live.%s: embed live.%s by value", name, name)
		}
		if found != 0 && found != k {
			return 0, errors.New("embeds both live.Base and live.RoomBase")
		}
		found = k
	}
	return found, nil
}

// classify decides whether ti is registered, and how.
func classify(ti *typeInfo, funcs map[string]bool) (entry, bool, error) {
	m, err := parseMarkers(ti.doc)
	if err != nil {
		return entry{}, false, err
	}
	if m.skip {
		if len(ti.doc.List) > 0 && countMarkers(ti.doc) > 1 {
			return entry{}, false, errors.New("//live:skip excludes every other marker")
		}
		return entry{}, false, nil
	}
	spec := ti.spec
	st, isStruct := spec.Type.(*ast.StructType)
	var emb kind
	if isStruct && !spec.Assign.IsValid() {
		if emb, err = embedded(st, ti.file.liveName); err != nil {
			return entry{}, false, err
		}
	}
	k := m.kind
	if k == 0 {
		k = emb
	} else if emb != 0 && emb != k {
		return entry{}, false, fmt.Errorf("marked //live:%s but embeds the base type of a %s", k, emb)
	}
	if k == 0 {
		if m.any {
			return entry{}, false, errors.New("//live: markers on a type that neither embeds live.Base or live.RoomBase nor is marked //live:component or //live:room")
		}
		return entry{}, false, nil
	}
	if !isStruct || spec.Assign.IsValid() {
		return entry{}, false, errors.New("only struct types can be live components or rooms")
	}
	if spec.TypeParams != nil && len(spec.TypeParams.List) > 0 {
		return entry{}, false, errors.New("generic types cannot be registered automatically: register an instantiation by hand and mark the type //live:skip")
	}
	if !ast.IsExported(spec.Name.Name) && m.kind == 0 {
		return entry{}, false, nil // unexported and unmarked: not ours to register
	}
	e := entry{kind: k, typeName: spec.Name.Name, file: ti.file.name, name: spec.Name.Name, newFunc: m.newFunc}
	if m.name != "" {
		e.name = m.name
	}
	if m.newFunc != "" && !funcs[m.newFunc] {
		return entry{}, false, fmt.Errorf("//live:new %s: no function %s in this package", m.newFunc, m.newFunc)
	}
	if k == kindRoom {
		if m.singleton || m.hasAction || m.writable != nil {
			return entry{}, false, errors.New("//live:singleton, //live:actions and //live:writable apply to components, not rooms")
		}
		if strings.Contains(e.name, ":") {
			return entry{}, false, fmt.Errorf("room name %q must not contain ':'", e.name)
		}
		e.maxMembers, e.codec = m.maxMem, m.codec
		return e, true, nil
	}
	if m.maxMem != 0 || m.codec != "" {
		return entry{}, false, errors.New("//live:maxmembers and //live:codec apply to rooms, not components")
	}
	e.singleton, e.writable = m.singleton, m.writable
	hasLiveActions := false
	var derived []string
	for _, fd := range ti.methods {
		if fd.Name.Name == "LiveActions" && isLiveActions(fd) {
			hasLiveActions = true
			continue
		}
		if !fd.Name.IsExported() || hookMethods[fd.Name.Name] {
			continue
		}
		if isAction(fd, ti.recvOf[fd].liveName) {
			derived = append(derived, lowerFirst(fd.Name.Name))
		}
	}
	switch {
	case m.hasAction && hasLiveActions:
		return entry{}, false, errors.New("both //live:actions and a LiveActions method: keep one")
	case m.hasAction:
		e.actions, e.actionsSrc = slices.Sorted(slices.Values(m.actions)), actionsMarker
	case hasLiveActions:
		e.actionsSrc = actionsMethod
	default:
		slices.Sort(derived)
		e.actions, e.actionsSrc = slices.Compact(derived), actionsDerived
		if e.actions == nil {
			e.actions = []string{}
		}
	}
	return e, true, nil
}

func countMarkers(doc *ast.CommentGroup) int {
	n := 0
	for _, c := range doc.List {
		if strings.HasPrefix(c.Text, "//live:") {
			n++
		}
	}
	return n
}

// isAction reports whether fd has an action signature:
// func (T) M(ctx *live.Ctx[, p P]) ([R, ]error).
func isAction(fd *ast.FuncDecl, liveName string) bool {
	if liveName == "" {
		return false
	}
	params := flatten(fd.Type.Params)
	if len(params) < 1 || len(params) > 2 || !isCtxPtr(params[0], liveName) {
		return false
	}
	if len(params) == 2 {
		if _, variadic := params[1].(*ast.Ellipsis); variadic {
			return false
		}
	}
	results := flatten(fd.Type.Results)
	if len(results) < 1 || len(results) > 2 {
		return false
	}
	id, ok := results[len(results)-1].(*ast.Ident)
	return ok && id.Name == "error"
}

// isLiveActions reports whether fd is func (T) LiveActions() []string.
func isLiveActions(fd *ast.FuncDecl) bool {
	if len(flatten(fd.Type.Params)) != 0 {
		return false
	}
	results := flatten(fd.Type.Results)
	if len(results) != 1 {
		return false
	}
	at, ok := results[0].(*ast.ArrayType)
	if !ok || at.Len != nil {
		return false
	}
	id, ok := at.Elt.(*ast.Ident)
	return ok && id.Name == "string"
}

// flatten lists the type of every parameter or result (a field with n
// names counts n times).
func flatten(fl *ast.FieldList) []ast.Expr {
	if fl == nil {
		return nil
	}
	var out []ast.Expr
	for _, f := range fl.List {
		n := max(len(f.Names), 1)
		for range n {
			out = append(out, f.Type)
		}
	}
	return out
}

// isCtxPtr reports whether x is *live.Ctx under the file's live import name.
func isCtxPtr(x ast.Expr, liveName string) bool {
	s, ok := x.(*ast.StarExpr)
	if !ok {
		return false
	}
	switch t := s.X.(type) {
	case *ast.SelectorExpr:
		id, ok := t.X.(*ast.Ident)
		return ok && id.Name == liveName && t.Sel.Name == "Ctx"
	case *ast.Ident:
		return liveName == "." && t.Name == "Ctx"
	}
	return false
}

// lowerFirst maps a method name to its client action name.
func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToLower(r)) + s[n:]
}
