package pipeline

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// named is a Filter whose stage is a name and the configuration it got.
func named(name string) Filter {
	return Filter{Name: name, New: func(_ *Env, config []byte) (Stage, error) {
		var v struct {
			Fail string `json:"fail"`
		}
		if err := json.Unmarshal(config, &v); err != nil {
			return nil, err
		}
		if v.Fail != "" {
			return nil, Errorf("fail", "%s", v.Fail)
		}
		return &stage{name: name + " " + string(config)}, nil
	}}
}

func stageNames(stages []Stage) []string {
	out := make([]string, len(stages))
	for i, s := range stages {
		out[i] = s.Name()
	}
	return out
}

func TestTheSuiteBuildsItsStagesInOrderFromSections(t *testing.T) {
	filters := []Filter{named("faults"), named("retry"), named("webhookauth")}
	suite := orderFilters(filters)
	stages, err := buildStages(SuiteRootID, suite, &Env{}, []byte(`{"retry": {"r": 1}, "faults": {"f": 1}, "webhookauth": {}}`))
	require.NoError(t, err)
	assert.Equal(t, []string{`webhookauth {}`, `faults {"f":1}`, `retry {"r":1}`}, stageNames(stages), "each filter gets its section, compacted")

	stages, err = buildStages(SuiteRootID, suite, &Env{}, []byte(`{"faults": {}, "retry": null}`))
	require.NoError(t, err)
	assert.Equal(t, []string{`faults {}`}, stageNames(stages), "a section left out or null is no stage")

	stages, err = buildStages("faults", []Filter{filters[0]}, &Env{}, []byte(`{"f": 2}`))
	require.NoError(t, err)
	assert.Equal(t, []string{`faults {"f": 2}`}, stageNames(stages), "a filter's own root_id takes its configuration as it is")
}

func TestSuiteConfigurationErrors(t *testing.T) {
	suite := orderFilters([]Filter{named("faults"), named("webhookauth")})
	tests := []struct {
		name, given, want string
	}{
		{"unknown section", `{"fault": {}}`, `fault: unknown section: the suite has webhookauth, faults`},
		{"no section", `{}`, `configure at least one section: webhookauth, faults`},
		{"not an object", `[]`, `the suite's configuration must be an object with a section per filter`},
		{"a section's error names its path", `{"faults": {"fail": "must be between 0 and 100"}}`, `faults.fail: must be between 0 and 100`},
		{"duplicate section", `{"faults": {}, "faults": {}}`, `duplicate key "faults"`},
		{"empty", ``, `configuration is empty: expected a JSON object`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := buildStages(SuiteRootID, suite, &Env{}, []byte(tt.given))
			require.Error(t, err)
			assert.Equal(t, tt.want, err.Error())
			var fe *FieldError
			assert.True(t, errors.As(err, &fe), "a FieldError")
		})
	}
}
