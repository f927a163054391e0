package signing_test

import (
	"context"
	"fmt"

	"github.com/live-go/live/internal/signing"
)

func Example() {
	s, err := signing.New(signing.Config{Secret: []byte("a secret of at least 32 bytes, really"), Nonces: true})
	if err != nil {
		panic(err)
	}
	ss, err := s.Sign("live-1", "Counter", 1, []byte(`{"count":3}`))
	if err != nil {
		panic(err)
	}
	wire := ss.AppendJSON(nil) // sent to the client, which sends it back on reconnect

	back, err := signing.ParseSignedState(wire)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	state, err := s.Open(ctx, back, "Counter", signing.OpenOptions{ConsumeNonce: true})
	fmt.Println(string(state), err)
	_, err = s.Open(ctx, back, "Counter", signing.OpenOptions{ConsumeNonce: true})
	fmt.Println(err)
	// Output:
	// {"count":3} <nil>
	// Nonce already used
}
