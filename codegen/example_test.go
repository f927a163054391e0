package codegen_test

import (
	"fmt"
	"log"

	"github.com/live-go/live/codegen"
)

// A build tool of this module regenerates the registration of a package
// into another package, and fails when a file was out of date.
func ExampleGenerate() {
	changed, err := codegen.Generate(codegen.Options{
		Dir:          "internal/components",
		OutFile:      "../registry/components_gen.go",
		Package:      "registry",
		ImportPath:   "example.com/app/internal/components",
		RegisterFunc: "RegisterComponents",
		Check:        true, // only report; write nothing
	})
	if err != nil {
		log.Fatal(err)
	}
	if changed {
		fmt.Println("components_gen.go is out of date: run go generate ./...")
	}
}
