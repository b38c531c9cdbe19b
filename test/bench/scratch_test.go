package main

import (
	"context"
	"os"
	"testing"

	"github.com/rhysd/actionlint"
	"github.com/runpolicy/runpolicy/engine"
	"github.com/runpolicy/runpolicy/engine/input"
)

const typical = "../testdata/corpus/workflows/databricks__cli__push.yml"

func BenchmarkActionlintParse(b *testing.B) {
	src, _ := os.ReadFile(typical)
	for b.Loop() {
		actionlint.Parse(src)
	}
}

func BenchmarkInputParse(b *testing.B) {
	src, _ := os.ReadFile(typical)
	for b.Loop() {
		if _, err := input.Parse("x", src); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEvalWarm(b *testing.B) {
	src, _ := os.ReadFile(typical)
	f, _ := input.Parse("x", src)
	e, err := engine.New(context.Background(), nil)
	if err != nil {
		b.Fatal(err)
	}
	doc := input.Build(f, input.LocalContext("x"))
	v := doc.Value()
	b.ResetTimer()
	for b.Loop() {
		if _, err := e.EvalValue(context.Background(), v); err != nil {
			b.Fatal(err)
		}
	}
}
