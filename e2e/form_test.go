package e2e

import (
	"os"
	"testing"

	"github.com/steadfast-proxy/steadfast/e2e/harness"
)

// formEnv chooses the form the filters' end-to-end tests run in: unset,
// each filter from its own module under its own root_id; "suite", each
// filter as its section of suite.wasm's one-pass chain (root_id "suite").
// `make e2e` runs the filters' tests in both.
const formEnv = "STEADFAST_E2E_FORM"

// suiteForm reports whether the tests run the suite form.
func suiteForm() bool { return os.Getenv(formEnv) == "suite" }

// inForm returns the filter entry w in the form under test: as it is, or
// as the filter's section of the suite, under the same entry name so that
// routes disable it as before.
func inForm(t testing.TB, w harness.Wasm) harness.Wasm {
	t.Helper()
	if !suiteForm() {
		return w
	}
	if w.Name == "" {
		w.Name = "steadfast." + w.RootID
	}
	w.Configuration = `{"` + w.RootID + `": ` + w.Configuration + `}`
	w.RootID = "suite"
	w.Module = harness.Module(t, "suite")
	return w
}

// invalidConfig is Envoy's log text for a configuration error of filter
// rootID at path (with its message), in the form under test.
func invalidConfig(rootID, pathAndMessage string) string {
	if suiteForm() {
		return "steadfast suite: invalid configuration: " + rootID + "." + pathAndMessage
	}
	return "steadfast " + rootID + ": invalid configuration: " + pathAndMessage
}
