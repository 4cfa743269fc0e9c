package faults

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestParseControl(t *testing.T) {
	defaultAbort := &Abort{HTTPStatus: DefaultAbortStatus, GRPCStatus: DefaultGRPCStatus, Body: DefaultAbortBody}
	tests := []struct {
		name    string
		given   map[string]string
		want    Control
		wantErr string
	}{
		{name: "nothing", given: map[string]string{}, want: Control{AbortPercentage: 100, DelayPercentage: 100}},
		{name: "abort", given: map[string]string{HeaderAbort: "503"}, want: Control{Abort: defaultAbort, AbortPercentage: 100, DelayPercentage: 100}},
		{name: "abort 200 and 599 are the bounds", given: map[string]string{HeaderAbort: "599"}, want: Control{
			Abort: &Abort{HTTPStatus: 599, GRPCStatus: DefaultGRPCStatus, Body: DefaultAbortBody}, AbortPercentage: 100, DelayPercentage: 100}},
		{name: "abort with spaces", given: map[string]string{HeaderAbort: " 429 "}, want: Control{
			Abort: &Abort{HTTPStatus: 429, GRPCStatus: DefaultGRPCStatus, Body: DefaultAbortBody}, AbortPercentage: 100, DelayPercentage: 100}},
		{name: "gRPC abort alone", given: map[string]string{HeaderAbortGRPC: "0"}, want: Control{
			Abort: &Abort{HTTPStatus: DefaultAbortStatus, GRPCStatus: 0, Body: DefaultAbortBody}, AbortPercentage: 100, DelayPercentage: 100}},
		{name: "both aborts", given: map[string]string{HeaderAbort: "500", HeaderAbortGRPC: "16"}, want: Control{
			Abort: &Abort{HTTPStatus: 500, GRPCStatus: 16, Body: DefaultAbortBody}, AbortPercentage: 100, DelayPercentage: 100}},
		{name: "delay as a duration", given: map[string]string{HeaderDelay: "1.5s"}, want: Control{Delay: 1500 * time.Millisecond, AbortPercentage: 100, DelayPercentage: 100}},
		{name: "delay in milliseconds", given: map[string]string{HeaderDelay: "250"}, want: Control{Delay: 250 * time.Millisecond, AbortPercentage: 100, DelayPercentage: 100}},
		{name: "delay zero", given: map[string]string{HeaderDelay: "0"}, want: Control{AbortPercentage: 100, DelayPercentage: 100}},
		{name: "delay of 60s is the longest", given: map[string]string{HeaderDelay: "60s"}, want: Control{Delay: MaxControlDelay, AbortPercentage: 100, DelayPercentage: 100}},
		{name: "delay of 60000ms is the longest", given: map[string]string{HeaderDelay: "60000"}, want: Control{Delay: MaxControlDelay, AbortPercentage: 100, DelayPercentage: 100}},
		{name: "percentages written with a fraction", given: map[string]string{HeaderAbort: "503", HeaderAbortPercentage: "0.01", HeaderDelay: "1s", HeaderDelayPercentage: "100.000"}, want: Control{
			Abort: defaultAbort, AbortPercentage: 0.01, Delay: time.Second, DelayPercentage: 100}},
		{name: "percentages", given: map[string]string{HeaderAbort: "503", HeaderAbortPercentage: "12.5", HeaderDelay: "1s", HeaderDelayPercentage: "0"}, want: Control{
			Abort: defaultAbort, AbortPercentage: 12.5, Delay: time.Second, DelayPercentage: 0}},
		{name: "a percentage alone", given: map[string]string{HeaderDelayPercentage: "5"}, want: Control{AbortPercentage: 100, DelayPercentage: 5}},

		{name: "abort not a number", given: map[string]string{HeaderAbort: "abc", HeaderDelay: "1s"}, want: Control{Delay: time.Second, AbortPercentage: 100, DelayPercentage: 100},
			wantErr: `x-steadfast-fault-abort: "abc" is not an HTTP status from 200 to 599`},
		{name: "abort 199", given: map[string]string{HeaderAbort: "199"}, want: Control{AbortPercentage: 100, DelayPercentage: 100},
			wantErr: `x-steadfast-fault-abort: "199" is not an HTTP status from 200 to 599`},
		{name: "abort 600", given: map[string]string{HeaderAbort: "600"}, want: Control{AbortPercentage: 100, DelayPercentage: 100},
			wantErr: `x-steadfast-fault-abort: "600" is not an HTTP status from 200 to 599`},
		{name: "abort empty", given: map[string]string{HeaderAbort: ""}, want: Control{AbortPercentage: 100, DelayPercentage: 100},
			wantErr: `x-steadfast-fault-abort: "" is not an HTTP status from 200 to 599`},
		{name: "bad gRPC status drops the abort", given: map[string]string{HeaderAbort: "503", HeaderAbortGRPC: "17"}, want: Control{AbortPercentage: 100, DelayPercentage: 100},
			wantErr: `x-steadfast-fault-abort-grpc: "17" is not a gRPC status from 0 to 16`},
		{name: "negative gRPC status", given: map[string]string{HeaderAbortGRPC: "-1"}, want: Control{AbortPercentage: 100, DelayPercentage: 100},
			wantErr: `x-steadfast-fault-abort-grpc: "-1" is not a gRPC status from 0 to 16`},
		{name: "delay without unit fraction", given: map[string]string{HeaderDelay: "1.5"}, want: Control{AbortPercentage: 100, DelayPercentage: 100},
			wantErr: `x-steadfast-fault-delay: "1.5" is not a duration such as "250ms" or a whole number of milliseconds`},
		{name: "delay negative", given: map[string]string{HeaderDelay: "-1s"}, want: Control{AbortPercentage: 100, DelayPercentage: 100},
			wantErr: `x-steadfast-fault-delay: "-1s" must not be negative`},
		{name: "delay negative milliseconds", given: map[string]string{HeaderDelay: "-5"}, want: Control{AbortPercentage: 100, DelayPercentage: 100},
			wantErr: `x-steadfast-fault-delay: "-5" must not be negative`},
		{name: "delay over 60s is malformed, not shortened", given: map[string]string{HeaderAbort: "503", HeaderDelay: "1h"}, want: Control{Abort: defaultAbort, AbortPercentage: 100, DelayPercentage: 100},
			wantErr: `x-steadfast-fault-delay: "1h" is longer than 60s`},
		{name: "delay of 60001ms is malformed", given: map[string]string{HeaderDelay: "60001"}, want: Control{AbortPercentage: 100, DelayPercentage: 100},
			wantErr: `x-steadfast-fault-delay: "60001" is longer than 60s`},
		{name: "delay in too many milliseconds", given: map[string]string{HeaderDelay: "99999999999999999999999"}, want: Control{AbortPercentage: 100, DelayPercentage: 100},
			wantErr: `x-steadfast-fault-delay: "99999999999999999999999" is longer than 60s`},
		{name: "delay with a plus sign", given: map[string]string{HeaderDelay: "+1s"}, want: Control{AbortPercentage: 100, DelayPercentage: 100},
			wantErr: `x-steadfast-fault-delay: "+1s" is not a duration such as "250ms" or a whole number of milliseconds`},
		{name: "delay in milliseconds with a plus sign", given: map[string]string{HeaderDelay: "+250"}, want: Control{AbortPercentage: 100, DelayPercentage: 100},
			wantErr: `x-steadfast-fault-delay: "+250" is not a duration such as "250ms" or a whole number of milliseconds`},
		{name: "abort with a plus sign", given: map[string]string{HeaderAbort: "+503"}, want: Control{AbortPercentage: 100, DelayPercentage: 100},
			wantErr: `x-steadfast-fault-abort: "+503" is not an HTTP status from 200 to 599`},
		{name: "abort with leading zeros", given: map[string]string{HeaderAbort: "0503"}, want: Control{AbortPercentage: 100, DelayPercentage: 100},
			wantErr: `x-steadfast-fault-abort: "0503" is not an HTTP status from 200 to 599`},
		{name: "abort with a fraction", given: map[string]string{HeaderAbort: "503.0"}, want: Control{AbortPercentage: 100, DelayPercentage: 100},
			wantErr: `x-steadfast-fault-abort: "503.0" is not an HTTP status from 200 to 599`},
		{name: "gRPC status with a plus sign", given: map[string]string{HeaderAbortGRPC: "+1"}, want: Control{AbortPercentage: 100, DelayPercentage: 100},
			wantErr: `x-steadfast-fault-abort-grpc: "+1" is not a gRPC status from 0 to 16`},
		{name: "percentage with a plus sign", given: map[string]string{HeaderAbort: "503", HeaderAbortPercentage: "+5"}, want: Control{AbortPercentage: 100, DelayPercentage: 100},
			wantErr: `x-steadfast-fault-abort-percentage: "+5" is not a percentage from 0 to 100`},
		{name: "percentage with an exponent", given: map[string]string{HeaderDelay: "1s", HeaderDelayPercentage: "5e1"}, want: Control{AbortPercentage: 100, DelayPercentage: 100},
			wantErr: `x-steadfast-fault-delay-percentage: "5e1" is not a percentage from 0 to 100`},
		{name: "percentage in hex", given: map[string]string{HeaderDelay: "1s", HeaderDelayPercentage: "0x10"}, want: Control{AbortPercentage: 100, DelayPercentage: 100},
			wantErr: `x-steadfast-fault-delay-percentage: "0x10" is not a percentage from 0 to 100`},
		{name: "percentage Inf", given: map[string]string{HeaderDelay: "1s", HeaderDelayPercentage: "Inf"}, want: Control{AbortPercentage: 100, DelayPercentage: 100},
			wantErr: `x-steadfast-fault-delay-percentage: "Inf" is not a percentage from 0 to 100`},
		{name: "percentage minus zero", given: map[string]string{HeaderDelay: "1s", HeaderDelayPercentage: "-0"}, want: Control{AbortPercentage: 100, DelayPercentage: 100},
			wantErr: `x-steadfast-fault-delay-percentage: "-0" is not a percentage from 0 to 100`},
		{name: "percentage without a whole part", given: map[string]string{HeaderDelay: "1s", HeaderDelayPercentage: ".5"}, want: Control{AbortPercentage: 100, DelayPercentage: 100},
			wantErr: `x-steadfast-fault-delay-percentage: ".5" is not a percentage from 0 to 100`},
		{name: "percentage without a fraction after the dot", given: map[string]string{HeaderDelay: "1s", HeaderDelayPercentage: "5."}, want: Control{AbortPercentage: 100, DelayPercentage: 100},
			wantErr: `x-steadfast-fault-delay-percentage: "5." is not a percentage from 0 to 100`},
		{name: "percentage just over 100", given: map[string]string{HeaderDelay: "1s", HeaderDelayPercentage: "100.0001"}, want: Control{AbortPercentage: 100, DelayPercentage: 100},
			wantErr: `x-steadfast-fault-delay-percentage: "100.0001" is not a percentage from 0 to 100`},
		{name: "bad percentage drops its fault", given: map[string]string{HeaderAbort: "503", HeaderAbortPercentage: "101", HeaderDelay: "1s"}, want: Control{
			Delay: time.Second, AbortPercentage: 100, DelayPercentage: 100},
			wantErr: `x-steadfast-fault-abort-percentage: "101" is not a percentage from 0 to 100`},
		{name: "NaN percentage", given: map[string]string{HeaderDelay: "1s", HeaderDelayPercentage: "NaN"}, want: Control{AbortPercentage: 100, DelayPercentage: 100},
			wantErr: `x-steadfast-fault-delay-percentage: "NaN" is not a percentage from 0 to 100`},
		{name: "percent sign", given: map[string]string{HeaderDelay: "1s", HeaderDelayPercentage: "10%"}, want: Control{AbortPercentage: 100, DelayPercentage: 100},
			wantErr: `x-steadfast-fault-delay-percentage: "10%" is not a percentage from 0 to 100`},
		{name: "every error is reported", given: map[string]string{HeaderAbort: "1", HeaderDelay: "x"}, want: Control{AbortPercentage: 100, DelayPercentage: 100},
			wantErr: `x-steadfast-fault-abort: "1" is not an HTTP status from 200 to 599` + "\n" +
				`x-steadfast-fault-delay: "x" is not a duration such as "250ms" or a whole number of milliseconds`},
		{name: "long values are shortened in errors", given: map[string]string{HeaderAbort: strings.Repeat("9", 100)}, want: Control{AbortPercentage: 100, DelayPercentage: 100},
			wantErr: `x-steadfast-fault-abort: "` + strings.Repeat("9", 32) + `..." is not an HTTP status from 200 to 599`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseControl(func(name string) (string, bool) {
				v, ok := tt.given[name]
				return v, ok
			})
			assert.Equal(t, tt.want, got)
			if tt.wantErr == "" {
				assert.NoError(t, err)
			} else if assert.Error(t, err) {
				assert.Equal(t, tt.wantErr, err.Error())
			}
		})
	}
}

func TestControlHeaders(t *testing.T) {
	assert.Equal(t, []string{
		"x-steadfast-fault-abort",
		"x-steadfast-fault-abort-grpc",
		"x-steadfast-fault-abort-percentage",
		"x-steadfast-fault-delay",
		"x-steadfast-fault-delay-percentage",
	}, ControlHeaders)
}
