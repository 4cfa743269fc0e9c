package conftest

import (
	"testing"

	"github.com/steadfast-proxy/steadfast/internal/pipeline"
)

type inner struct {
	A string `json:"a"`
	B string `json:"b"`
}

func (i *inner) DecodeJSON(f *pipeline.Fields) { f.String("a", &i.A) } // forgets b

type outer struct {
	In   *inner `json:"in"`
	Name string `json:"name"`
}

func (o *outer) DecodeJSON(f *pipeline.Fields) {
	pipeline.ObjectPtr(f, "in", &o.In)
	f.String("name", &o.Name)
}

type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, format)
}

func TestReadsEveryFieldFindsAForgottenField(t *testing.T) {
	r := &recorder{TB: t}
	ReadsEveryField(r, &outer{})
	if len(r.errors) != 1 {
		t.Fatalf("want one error (inner.b), got %v", r.errors)
	}
	ReadsEveryField(t, &pipeline.Match{})
}
