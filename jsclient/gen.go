package jsclient

//go:generate go run ./internal/gen
