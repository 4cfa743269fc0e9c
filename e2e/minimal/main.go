// Command minimal is the baseline Go filter of the load benchmarks: built
// with the same SDK and toolchain as steadfast, it reads one request header
// and adds one, the least work any Go filter does per request.
package main

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

func main() {}

func init() {
	proxywasm.SetHttpContext(func(uint32) types.HttpContext { return &stream{} })
}

type stream struct{ types.DefaultHttpContext }

func (*stream) OnHttpRequestHeaders(int, bool) types.Action {
	v, err := proxywasm.GetHttpRequestHeader("x-request-id")
	if err != nil {
		v = "none"
	}
	_ = proxywasm.AddHttpRequestHeader("x-minimal", v)
	return types.ActionContinue
}
