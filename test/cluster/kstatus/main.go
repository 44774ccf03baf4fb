// kstatus prints the status that kstatus (sigs.k8s.io/cli-utils/pkg/kstatus/status) computes
// for one Kubernetes object: the judgement Flux's health checks and cli-utils' apply/wait
// make. The object comes as JSON or YAML on stdin, or from the file named as the argument;
// the answer is one JSON line: {"status":"Current|InProgress|Failed|...","message":"..."}.
//
//	kubectl get md/iris -o json | kstatus
//	kstatus --version   # the cli-utils version it was built with
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/yaml"
)

const module = "sigs.k8s.io/cli-utils"

// result is what the checker prints: kstatus's verdict and its message.
type result struct {
	Status  status.Status `json:"status"`
	Message string        `json:"message"`
}

// libraryVersion is the cli-utils version linked in, read from the build info (so it cannot
// disagree with go.mod).
func libraryVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, dep := range info.Deps {
		if dep.Path == module {
			if dep.Replace != nil {
				return dep.Replace.Version
			}
			return dep.Version
		}
	}
	return "unknown"
}

func readInput(args []string) ([]byte, error) {
	switch len(args) {
	case 0:
		return io.ReadAll(os.Stdin)
	case 1:
		return os.ReadFile(args[0])
	default:
		return nil, errors.New("usage: kstatus [FILE]   (the object as JSON or YAML; stdin without FILE)")
	}
}

func compute(raw []byte) (result, error) {
	// Through JSON into Unstructured's own decoder: integers stay int64, which kstatus's
	// generation check reads (a plain YAML decode would make them float64).
	j, err := yaml.YAMLToJSON(raw)
	if err != nil {
		return result{}, fmt.Errorf("the input is not a JSON or YAML object: %w", err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(j); err != nil {
		return result{}, fmt.Errorf("the input is not one Kubernetes object: %w", err)
	}
	res, err := status.Compute(u)
	if err != nil {
		return result{}, fmt.Errorf("kstatus cannot compute the status of %s %s: %w", u.GetKind(), u.GetName(), err)
	}
	return result{Status: res.Status, Message: res.Message}, nil
}

func main() {
	args := os.Args[1:]
	if len(args) == 1 && (args[0] == "--version" || args[0] == "version") {
		fmt.Printf("kstatus %s %s\n", module, libraryVersion())
		return
	}
	raw, err := readInput(args)
	if err == nil {
		var res result
		res, err = compute(raw)
		if err == nil {
			err = json.NewEncoder(os.Stdout).Encode(res)
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "kstatus: %v\n", err)
		os.Exit(1)
	}
}
