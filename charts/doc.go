// Package charts holds the tests of Roost's Helm chart (charts/roost).
//
// They run helm itself (built once per machine by internal/devenv, like
// the other tools the tests need): `helm lint --strict` over the value
// files in charts/roost/ci, the schema refusing the bad ones in
// testdata/invalid, and `helm template`, whose every manifest is decoded
// strictly (an unknown field is an error) into the Kubernetes API types,
// offline. Then the rendered configuration is checked against the code
// it deploys: every variable is one internal/config reads and accepts,
// secrets come only from the operator's existing Secret, and a real
// `roost serve` and `roost work` started with the rendered environment
// answer the probes the chart points at.
package charts
