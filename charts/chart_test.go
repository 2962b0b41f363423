package charts

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/internal/devenv"
	"github.com/roost-social/roost/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const (
	chart   = "roost"
	release = "social"
	// kubeVersion is the cluster version helm renders for (its own
	// default, when built without release flags, is far older).
	kubeVersion = "1.34.0"
	namespace   = "roost"
)

// The value files the chart ships for CI (charts/roost/ci), each with the
// checks particular to it; every one also gets checkCommon.
var cases = []struct {
	file  string
	check func(t *testing.T, r *rendered)
}{
	{"default-values.yaml", checkDefault},
	{"ingress-values.yaml", checkIngress},
	{"httproute-values.yaml", checkHTTPRoute},
	{"scaling-values.yaml", checkScaling},
	{"s3-values.yaml", checkS3},
}

var (
	helmOnce sync.Once
	helmPath string
	helmErr  error
)

// helm returns the helm binary, built once per machine (devenv.GoTool).
func helm(t *testing.T) string {
	t.Helper()
	helmOnce.Do(func() {
		helmPath, helmErr = devenv.Helm(devenv.Options{Install: true, Logf: func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }})
	})
	if helmErr != nil {
		t.Fatal(helmErr)
	}
	return helmPath
}

func runHelm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(helm(t), args...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+t.TempDir(), "HELM_CONFIG_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.String() + errb.String(), err
	}
	return out.String(), nil
}

// The chart lints cleanly (strict: warnings fail) with its defaults and
// every shipped value file.
func TestChartLint(t *testing.T) {
	for _, args := range append([][]string{nil}, ciArgs()...) {
		out, err := runHelm(t, append([]string{"lint", "--strict", "--kube-version", kubeVersion, chart}, args...)...)
		if err != nil {
			t.Errorf("helm lint %v: %v\n%s", args, err, out)
		}
	}
}

func ciArgs() [][]string {
	var a [][]string
	for _, c := range cases {
		a = append(a, []string{"-f", filepath.Join(chart, "ci", c.file)})
	}
	return a
}

// Every value file in testdata/invalid breaks values.schema.json: helm
// lint and helm template refuse it, naming the offending value (the file's
// "# want:" line).
func TestChartSchemaRefusesBadValues(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil || len(files) < 5 {
		t.Fatalf("invalid value files: %v %v", files, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want, ok := strings.CutPrefix(strings.SplitN(string(b), "\n", 2)[0], "# want: ")
		if !ok {
			t.Fatalf("%s: first line must be '# want: <part of the error>'", f)
		}
		for _, cmd := range [][]string{{"lint", "--strict"}, {"template", release}} {
			out, err := runHelm(t, append(cmd, chart, "--kube-version", kubeVersion, "-f", f)...)
			if err == nil {
				t.Errorf("helm %s -f %s: accepted; want a schema error about %q", cmd[0], f, want)
				continue
			}
			if !strings.Contains(out, want) {
				t.Errorf("helm %s -f %s: error does not mention %q:\n%s", cmd[0], f, want, out)
			}
		}
	}
}

// Every manifest helm renders, for the defaults and each value file,
// decodes strictly into its Kubernetes API type, and the whole fits
// together and fits the binary it deploys.
func TestChartRenders(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		r := render(t)
		checkCommon(t, r)
	})
	for _, c := range cases {
		t.Run(strings.TrimSuffix(c.file, "-values.yaml"), func(t *testing.T) {
			r := render(t, "-f", filepath.Join(chart, "ci", c.file))
			checkCommon(t, r)
			c.check(t, r)
		})
	}
}

// rendered is one `helm template` output, decoded.
type rendered struct {
	values      map[string]any // the values file given, for reference
	objects     []metav1.Object
	kinds       []string // kind/name of every object, in order
	configMap   *corev1.ConfigMap
	services    []*corev1.Service
	deployments map[string]*appsv1.Deployment // by component
	jobs        []*batchv1.Job
	pdbs        []*policyv1.PodDisruptionBudget
	hpas        []*autoscalingv2.HorizontalPodAutoscaler
	netpols     []*networkingv1.NetworkPolicy
	ingresses   []*networkingv1.Ingress
	routes      []*httpRoute
	pvcs        []*corev1.PersistentVolumeClaim
	sas         []*corev1.ServiceAccount
}

var docSep = regexp.MustCompile(`(?m)^---\s*$`)

func render(t *testing.T, args ...string) *rendered {
	t.Helper()
	out, err := runHelm(t, append([]string{"template", release, chart, "--namespace", namespace, "--kube-version", kubeVersion}, args...)...)
	if err != nil {
		t.Fatalf("helm template %v: %v\n%s", args, err, out)
	}
	r := &rendered{deployments: map[string]*appsv1.Deployment{}}
	if len(args) == 2 {
		b, err := os.ReadFile(args[1])
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(b, &r.values); err != nil {
			t.Fatal(err)
		}
	}
	for _, doc := range docSep.Split(out, -1) {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
			t.Fatalf("manifest is not YAML: %v\n%s", err, doc)
		}
		var obj metav1.Object
		switch tm.APIVersion + " " + tm.Kind {
		case "v1 ConfigMap":
			if r.configMap != nil {
				t.Fatal("more than one ConfigMap")
			}
			r.configMap = decode[corev1.ConfigMap](t, doc)
			obj = r.configMap
		case "v1 Service":
			o := decode[corev1.Service](t, doc)
			r.services, obj = append(r.services, o), o
		case "v1 ServiceAccount":
			o := decode[corev1.ServiceAccount](t, doc)
			r.sas, obj = append(r.sas, o), o
		case "v1 PersistentVolumeClaim":
			o := decode[corev1.PersistentVolumeClaim](t, doc)
			r.pvcs, obj = append(r.pvcs, o), o
		case "apps/v1 Deployment":
			o := decode[appsv1.Deployment](t, doc)
			c := o.Spec.Template.Labels["app.kubernetes.io/component"]
			if r.deployments[c] != nil {
				t.Fatalf("two Deployments of component %q", c)
			}
			r.deployments[c], obj = o, o
		case "batch/v1 Job":
			o := decode[batchv1.Job](t, doc)
			r.jobs, obj = append(r.jobs, o), o
		case "policy/v1 PodDisruptionBudget":
			o := decode[policyv1.PodDisruptionBudget](t, doc)
			r.pdbs, obj = append(r.pdbs, o), o
		case "autoscaling/v2 HorizontalPodAutoscaler":
			o := decode[autoscalingv2.HorizontalPodAutoscaler](t, doc)
			r.hpas, obj = append(r.hpas, o), o
		case "networking.k8s.io/v1 NetworkPolicy":
			o := decode[networkingv1.NetworkPolicy](t, doc)
			r.netpols, obj = append(r.netpols, o), o
		case "networking.k8s.io/v1 Ingress":
			o := decode[networkingv1.Ingress](t, doc)
			r.ingresses, obj = append(r.ingresses, o), o
		case "gateway.networking.k8s.io/v1 HTTPRoute":
			o := decode[httpRoute](t, doc)
			r.routes, obj = append(r.routes, o), o
		case "v1 Secret":
			t.Fatalf("the chart renders a Secret; secrets must come from the operator's existing Secret:\n%s", doc)
		default:
			t.Fatalf("unexpected manifest %s %s (add it to the test's strict decoding):\n%s", tm.APIVersion, tm.Kind, doc)
		}
		r.objects = append(r.objects, obj)
		r.kinds = append(r.kinds, tm.Kind+"/"+obj.GetName())
	}
	return r
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// decode reads one manifest into T, refusing unknown fields and duplicate
// keys: a misspelt or misplaced field would otherwise vanish silently.
func decode[T any](t *testing.T, doc string) *T {
	t.Helper()
	j, err := yaml.YAMLToJSONStrict([]byte(doc))
	if err != nil {
		t.Fatalf("manifest: %v\n%s", err, doc)
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	v := new(T)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("manifest does not decode strictly into %T: %v\n%s", v, err, doc)
	}
	return v
}

// httpRoute is the part of the Gateway API's HTTPRoute (v1) the chart
// uses, with the spec's field names; k8s.io/api has no Gateway API types.
type httpRoute struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		ParentRefs []struct {
			Group       *string `json:"group,omitempty"`
			Kind        *string `json:"kind,omitempty"`
			Namespace   *string `json:"namespace,omitempty"`
			Name        string  `json:"name"`
			SectionName *string `json:"sectionName,omitempty"`
			Port        *int32  `json:"port,omitempty"`
		} `json:"parentRefs"`
		Hostnames []string `json:"hostnames,omitempty"`
		Rules     []struct {
			Matches []struct {
				Path *struct {
					Type  string `json:"type"`
					Value string `json:"value"`
				} `json:"path,omitempty"`
			} `json:"matches,omitempty"`
			BackendRefs []struct {
				Group     *string `json:"group,omitempty"`
				Kind      *string `json:"kind,omitempty"`
				Name      string  `json:"name"`
				Namespace *string `json:"namespace,omitempty"`
				Port      *int32  `json:"port,omitempty"`
				Weight    *int32  `json:"weight,omitempty"`
			} `json:"backendRefs,omitempty"`
		} `json:"rules"`
	} `json:"spec"`
}

// secretVars are the variables that must come from the existing Secret,
// never from the ConfigMap or a literal value.
var secretVars = []string{"ROOST_DATABASE_URL", "ROOST_REDIS_URL", "ROOST_ACME_EMAIL", "ROOST_STRIPE_SECRET_KEY",
	"ROOST_STRIPE_WEBHOOK_SECRET", "ROOST_MEDIA_S3_ACCESS_KEY", "ROOST_MEDIA_S3_SECRET_KEY"}

func knownVar(name string) bool {
	for _, v := range config.Vars {
		if v.Name == name {
			return true
		}
	}
	return false
}

// checkCommon holds for every rendering.
func checkCommon(t *testing.T, r *rendered) {
	t.Helper()
	secretName := "roost"
	if s, ok := r.values["secret"].(map[string]any); ok && s["name"] != nil {
		secretName = s["name"].(string)
	}
	for _, o := range r.objects {
		if errs := validation.IsDNS1123Subdomain(o.GetName()); len(errs) > 0 {
			t.Errorf("%s: invalid name: %v", o.GetName(), errs)
		}
		l := o.GetLabels()
		for k, v := range l {
			if errs := append(validation.IsQualifiedName(k), validation.IsValidLabelValue(v)...); len(errs) > 0 {
				t.Errorf("%s: invalid label %s=%s: %v", o.GetName(), k, v, errs)
			}
		}
		if l["app.kubernetes.io/name"] != "roost" || l["app.kubernetes.io/instance"] != release || l["app.kubernetes.io/managed-by"] != "Helm" {
			t.Errorf("%s: missing standard labels: %v", o.GetName(), l)
		}
	}

	// Configuration: every variable is one the binary reads, none secret,
	// and the binary accepts the values.
	cm := r.configMap
	if cm == nil {
		t.Fatal("no ConfigMap rendered")
	}
	for k := range cm.Data {
		if !knownVar(k) {
			t.Errorf("ConfigMap sets %s, which internal/config does not read", k)
		}
		if slices.Contains(secretVars, k) {
			t.Errorf("ConfigMap holds the secret %s", k)
		}
	}
	env := map[string]string{}
	for k, v := range cm.Data {
		env[k] = v
	}
	env["ROOST_DATABASE_URL"], env["ROOST_REDIS_URL"] = "postgres://roost@db:5432/roost", "redis://redis:6379/0"
	if _, err := config.Load(func(k string) string { return env[k] }); err != nil {
		t.Errorf("the binary refuses the rendered configuration: %v", err)
	}

	// Pods: hardened, configured from the ConfigMap and the existing Secret.
	if len(r.deployments) != 2 || r.deployments["web"] == nil || r.deployments["worker"] == nil {
		t.Fatalf("want web and worker Deployments, got %v", r.kinds)
	}
	type podOf struct {
		name string
		spec corev1.PodSpec
	}
	pods := []podOf{{"web", r.deployments["web"].Spec.Template.Spec}, {"worker", r.deployments["worker"].Spec.Template.Spec}}
	for _, j := range r.jobs {
		pods = append(pods, podOf{j.Name, j.Spec.Template.Spec})
	}
	for _, p := range pods {
		checkPod(t, p.name, p.spec, secretName, cm.Name)
	}
	for _, comp := range []string{"web", "worker"} {
		d := r.deployments[comp]
		if !labels.SelectorFromSet(d.Spec.Selector.MatchLabels).Matches(labels.Set(d.Spec.Template.Labels)) {
			t.Errorf("%s: selector %v does not select its own pods %v", d.Name, d.Spec.Selector.MatchLabels, d.Spec.Template.Labels)
		}
		want := map[string]string{"web": "serve", "worker": "work"}[comp]
		c := d.Spec.Template.Spec.Containers[0]
		if !slices.Equal(c.Args, []string{want}) || len(c.Command) != 0 {
			t.Errorf("%s runs %v %v, want the image's /roost with [%s]", d.Name, c.Command, c.Args, want)
		}
		if d.Spec.Template.Annotations["checksum/config"] == "" {
			t.Errorf("%s: no checksum/config annotation: pods would not roll on a configuration change", d.Name)
		}
		checkProbes(t, d, cm.Data)
	}

	// The migration Job: a pre-install and pre-upgrade hook.
	if len(r.jobs) != 1 {
		t.Fatalf("want one migration Job, got %v", r.kinds)
	}
	j := r.jobs[0]
	if a := j.Annotations; a["helm.sh/hook"] != "pre-install,pre-upgrade" || !strings.Contains(a["helm.sh/hook-delete-policy"], "before-hook-creation") {
		t.Errorf("migration Job annotations %v: want helm.sh/hook pre-install,pre-upgrade and a delete policy with before-hook-creation", a)
	}
	if c := j.Spec.Template.Spec.Containers[0]; !slices.Equal(c.Args, []string{"migrate"}) {
		t.Errorf("migration Job runs %v", c.Args)
	}
	if j.Spec.BackoffLimit == nil || j.Spec.ActiveDeadlineSeconds == nil || j.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("migration Job: want backoffLimit, activeDeadlineSeconds and restartPolicy Never: %+v", j.Spec)
	}
	for _, c := range j.Spec.Template.Spec.Containers {
		if len(c.EnvFrom) != 0 {
			t.Errorf("migration Job reads %v: a pre-install hook runs before the release's ConfigMap exists", c.EnvFrom)
		}
	}
	if j.Spec.Template.Spec.ServiceAccountName != "" {
		t.Errorf("migration Job uses service account %q, which a pre-install hook runs before", j.Spec.Template.Spec.ServiceAccountName)
	}

	// The Service sends to web pods' named ports.
	if len(r.services) != 1 {
		t.Fatalf("want one Service, got %v", r.kinds)
	}
	svc := r.services[0]
	web := r.deployments["web"]
	if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(web.Spec.Template.Labels)) ||
		labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(r.deployments["worker"].Spec.Template.Labels)) {
		t.Errorf("Service selector %v must select web pods only", svc.Spec.Selector)
	}
	for _, p := range svc.Spec.Ports {
		if containerPort(web.Spec.Template.Spec.Containers[0], p.TargetPort.StrVal) == 0 {
			t.Errorf("Service port %d targets %q, which the web container does not declare", p.Port, p.TargetPort.String())
		}
	}

	// Disruption budgets each cover exactly their component.
	for _, p := range r.pdbs {
		sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, d := range r.deployments {
			if sel.Matches(labels.Set(d.Spec.Template.Labels)) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("PodDisruptionBudget %s selects %d Deployments' pods, want 1", p.Name, n)
		}
	}

	// Volumes: the data claim, when rendered, is the one the pods mount.
	for _, d := range r.deployments {
		for _, v := range d.Spec.Template.Spec.Volumes {
			if v.PersistentVolumeClaim != nil && len(r.pvcs) == 1 && v.PersistentVolumeClaim.ClaimName != r.pvcs[0].Name {
				t.Errorf("%s mounts claim %s, the chart renders %s", d.Name, v.PersistentVolumeClaim.ClaimName, r.pvcs[0].Name)
			}
		}
	}
	if !strings.HasPrefix(cm.Data["ROOST_MEDIA_DIR"], "/var/lib/roost/") {
		t.Errorf("ROOST_MEDIA_DIR %q is not on the data volume", cm.Data["ROOST_MEDIA_DIR"])
	}
}

// checkPod: non-root, read-only root, no capabilities, no API token; env
// names the binary reads; secrets from the existing Secret only.
func checkPod(t *testing.T, name string, spec corev1.PodSpec, secretName, configMap string) {
	t.Helper()
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Errorf("%s: the service account token is mounted", name)
	}
	psc := spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Errorf("%s: pod may run as root: %+v", name, psc)
	}
	for _, c := range spec.Containers {
		sc := c.SecurityContext
		if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
			sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) != 0 {
			t.Errorf("%s/%s: container not hardened: %+v", name, c.Name, sc)
		}
		if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
			t.Errorf("%s/%s: want CPU and memory requests and a memory limit: %+v", name, c.Name, c.Resources)
		}
		for _, ef := range c.EnvFrom {
			if ef.ConfigMapRef == nil || ef.ConfigMapRef.Name != configMap || ef.SecretRef != nil {
				t.Errorf("%s/%s: envFrom %+v: want the chart's ConfigMap only", name, c.Name, ef)
			}
		}
		seen := map[string]bool{}
		for _, e := range c.Env {
			if !knownVar(e.Name) {
				t.Errorf("%s/%s: sets %s, which internal/config does not read", name, c.Name, e.Name)
			}
			if seen[e.Name] {
				t.Errorf("%s/%s: sets %s twice", name, c.Name, e.Name)
			}
			seen[e.Name] = true
			if !slices.Contains(secretVars, e.Name) {
				continue
			}
			ref := (*corev1.SecretKeySelector)(nil)
			if e.ValueFrom != nil {
				ref = e.ValueFrom.SecretKeyRef
			}
			if e.Value != "" || ref == nil || ref.Name != secretName || ref.Key == "" {
				t.Errorf("%s/%s: %s must come from Secret %q, got %+v", name, c.Name, e.Name, secretName, e)
				continue
			}
			required := e.Name == "ROOST_DATABASE_URL" || e.Name == "ROOST_REDIS_URL"
			if optional := ref.Optional != nil && *ref.Optional; optional == required {
				t.Errorf("%s/%s: %s optional=%v, want %v", name, c.Name, e.Name, optional, !required)
			}
		}
		if !seen["ROOST_DATABASE_URL"] {
			t.Errorf("%s/%s: no ROOST_DATABASE_URL", name, c.Name)
		}
		if c.Name != "migrate" {
			for _, v := range secretVars {
				if !seen[v] {
					t.Errorf("%s/%s: %s is not taken from the Secret", name, c.Name, v)
				}
			}
		}
	}
}

// checkProbes: startup and liveness on /healthz, readiness on /readyz,
// through a declared port that is a listener the ConfigMap opens for
// these routes (the metrics listener, or the plain-HTTP web listener with
// TLS off). TestChartProbesAnswered asks a real process.
func checkProbes(t *testing.T, d *appsv1.Deployment, cm map[string]string) {
	t.Helper()
	c := d.Spec.Template.Spec.Containers[0]
	for _, p := range []struct {
		kind  string
		probe *corev1.Probe
		path  string
	}{{"startup", c.StartupProbe, "/healthz"}, {"liveness", c.LivenessProbe, "/healthz"}, {"readiness", c.ReadinessProbe, "/readyz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s: no HTTP %s probe", d.Name, p.kind)
			continue
		}
		if p.probe.HTTPGet.Path != p.path {
			t.Errorf("%s: %s probe on %s, want %s", d.Name, p.kind, p.probe.HTTPGet.Path, p.path)
		}
		port := containerPort(c, p.probe.HTTPGet.Port.StrVal)
		ops := map[int32]bool{addrPort(t, cm["ROOST_METRICS_ADDR"]): true}
		if cm["ROOST_TLS"] == "off" && c.Args[0] == "serve" {
			ops[addrPort(t, cm["ROOST_HTTP_ADDR"])] = true
		}
		if !ops[port] {
			t.Errorf("%s: %s probe on port %v (%d), which serves no %s (ROOST_TLS=%s)", d.Name, p.kind, p.probe.HTTPGet.Port.String(), port, p.path, cm["ROOST_TLS"])
		}
	}
}

func containerPort(c corev1.Container, name string) int32 {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

func addrPort(t *testing.T, addr string) int32 {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("listen address %q: %v", addr, err)
	}
	n, _ := strconv.Atoi(p)
	return int32(n)
}

func hasKind(r *rendered, kind string) bool {
	for _, k := range r.kinds {
		if strings.HasPrefix(k, kind+"/") {
			return true
		}
	}
	return false
}

// Roost terminates TLS behind a LoadBalancer passing 80 and 443.
func checkDefault(t *testing.T, r *rendered) {
	cm := r.configMap.Data
	if cm["ROOST_TLS"] != "acme" || cm["ROOST_PORTAL_HOST"] != "portal.roost.example" || cm["ROOST_PUBLIC_IPV6"] != "2001:db8::10" {
		t.Errorf("ConfigMap: %v", cm)
	}
	svc := r.services[0]
	var ports []int32
	for _, p := range svc.Spec.Ports {
		ports = append(ports, p.Port)
	}
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer || svc.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyLocal || !slices.Equal(ports, []int32{80, 443}) {
		t.Errorf("Service: %+v", svc.Spec)
	}
	web := r.deployments["web"]
	if web.Spec.Replicas == nil || *web.Spec.Replicas != 2 || web.Spec.Strategy.RollingUpdate.MaxUnavailable.IntValue() != 0 {
		t.Errorf("web Deployment: %+v", web.Spec)
	}
	if c := web.Spec.Template.Spec.Containers[0]; c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil {
		t.Errorf("web: no preStop sleep for the Service to stop sending traffic first")
	}
	if c := web.Spec.Template.Spec.Containers[0]; c.ReadinessProbe.HTTPGet.Port.StrVal != "metrics" {
		t.Errorf("web readiness probe on %v: with ROOST_TLS=acme only the metrics listener answers it for the kubelet", c.ReadinessProbe.HTTPGet.Port)
	}
	if web.Spec.Template.Spec.Affinity == nil || web.Spec.Template.Spec.Affinity.PodAntiAffinity == nil ||
		len(web.Spec.Template.Spec.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) != 0 ||
		len(web.Spec.Template.Spec.TopologySpreadConstraints) == 0 ||
		web.Spec.Template.Spec.TopologySpreadConstraints[0].WhenUnsatisfiable != corev1.ScheduleAnyway {
		t.Errorf("web: want soft anti-affinity and spread by default")
	}
	if len(r.pvcs) != 1 || !slices.Contains(r.pvcs[0].Spec.AccessModes, corev1.ReadWriteMany) {
		t.Errorf("want one ReadWriteMany data claim: %v", r.kinds)
	}
	if len(r.pdbs) != 2 || len(r.sas) != 1 || r.sas[0].AutomountServiceAccountToken == nil || *r.sas[0].AutomountServiceAccountToken {
		t.Errorf("want two PDBs and a ServiceAccount without token automount: %v", r.kinds)
	}
	for _, k := range []string{"Ingress", "HTTPRoute", "HorizontalPodAutoscaler", "NetworkPolicy"} {
		if hasKind(r, k) {
			t.Errorf("%s rendered by default: %v", k, r.kinds)
		}
	}
}

// TLS ends at an ingress controller: ROOST_TLS=off, ClusterIP, every Host
// routed to the web nodes' plain-HTTP port.
func checkIngress(t *testing.T, r *rendered) {
	cm := r.configMap.Data
	if cm["ROOST_TLS"] != "off" || cm["ROOST_TRUSTED_PROXIES"] != "10.0.0.0/8" || cm["ROOST_HTTPS_ADDR"] != "" {
		t.Errorf("ConfigMap: %v", cm)
	}
	svc := r.services[0]
	if svc.Spec.Type != corev1.ServiceTypeClusterIP || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort.StrVal != "http" {
		t.Errorf("Service: %+v", svc.Spec)
	}
	if len(r.ingresses) != 1 {
		t.Fatalf("want one Ingress: %v", r.kinds)
	}
	ing := r.ingresses[0]
	catchAll := false
	for _, rule := range ing.Spec.Rules {
		for _, p := range rule.HTTP.Paths {
			b := p.Backend.Service
			if b == nil || b.Name != svc.Name || b.Port.Name != svc.Spec.Ports[0].Name {
				t.Errorf("Ingress rule %q sends to %+v, not the web Service", rule.Host, p.Backend)
			}
		}
		catchAll = catchAll || rule.Host == ""
	}
	if !catchAll || ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != "nginx" || len(ing.Spec.TLS) != 1 {
		t.Errorf("Ingress: want a rule for every Host (tenants' domains), the class and TLS: %+v", ing.Spec)
	}
	if r.deployments["web"].Spec.Template.Spec.Containers[0].LivenessProbe.HTTPGet.Port.StrVal != "http" {
		t.Errorf("with TLS off the web probes should ask the web listener itself")
	}
}

func checkHTTPRoute(t *testing.T, r *rendered) {
	if len(r.routes) != 1 {
		t.Fatalf("want one HTTPRoute: %v", r.kinds)
	}
	rt := r.routes[0]
	svc := r.services[0]
	if len(rt.Spec.ParentRefs) != 1 || rt.Spec.ParentRefs[0].Name != "public" || rt.Spec.ParentRefs[0].Namespace == nil || *rt.Spec.ParentRefs[0].Namespace != "gateways" {
		t.Errorf("HTTPRoute parents: %+v", rt.Spec.ParentRefs)
	}
	if len(rt.Spec.Hostnames) != 0 {
		t.Errorf("HTTPRoute limited to %v: tenants' domains are not known in advance", rt.Spec.Hostnames)
	}
	for _, rule := range rt.Spec.Rules {
		for _, m := range rule.Matches {
			if m.Path == nil || m.Path.Type != "PathPrefix" || m.Path.Value != "/" {
				t.Errorf("HTTPRoute match %+v", m)
			}
		}
		for _, b := range rule.BackendRefs {
			ok := b.Name == svc.Name && b.Port != nil
			if ok {
				ok = slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Port == *b.Port })
			}
			if !ok {
				t.Errorf("HTTPRoute backend %+v is not a port of Service %s", b, svc.Name)
			}
		}
	}
	if r.configMap.Data["ROOST_TLS"] != "off" || svc.Spec.Type != corev1.ServiceTypeClusterIP {
		t.Errorf("TLS in front: want ROOST_TLS=off and a ClusterIP Service")
	}
}

func checkScaling(t *testing.T, r *rendered) {
	if len(r.hpas) != 2 || len(r.netpols) != 2 || len(r.pdbs) != 2 {
		t.Fatalf("want two HPAs, NetworkPolicies and PDBs: %v", r.kinds)
	}
	for _, h := range r.hpas {
		ref := h.Spec.ScaleTargetRef
		var target *appsv1.Deployment
		for _, d := range r.deployments {
			if d.Name == ref.Name {
				target = d
			}
		}
		if target == nil || ref.Kind != "Deployment" || ref.APIVersion != "apps/v1" {
			t.Errorf("HPA %s scales %+v, not a rendered Deployment", h.Name, ref)
			continue
		}
		if target.Spec.Replicas != nil {
			t.Errorf("%s sets replicas while an HPA scales it: every upgrade would reset the count", target.Name)
		}
		if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 2 || len(h.Spec.Metrics) != 1 || h.Spec.Metrics[0].Resource.Target.AverageUtilization == nil {
			t.Errorf("HPA %s: %+v", h.Name, h.Spec)
		}
	}
	for _, np := range r.netpols {
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, d := range r.deployments {
			if sel.Matches(labels.Set(d.Spec.Template.Labels)) {
				n++
				for _, rule := range np.Spec.Ingress {
					for _, p := range rule.Ports {
						if containerPort(d.Spec.Template.Spec.Containers[0], p.Port.StrVal) == 0 {
							t.Errorf("NetworkPolicy %s opens port %v, which %s does not declare", np.Name, p.Port, d.Name)
						}
					}
				}
			}
		}
		if n != 1 {
			t.Errorf("NetworkPolicy %s selects %d Deployments' pods", np.Name, n)
		}
		metricsFromMonitoring := false
		for _, rule := range np.Spec.Ingress {
			for _, f := range rule.From {
				if f.NamespaceSelector != nil && f.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] == "monitoring" {
					metricsFromMonitoring = true
				}
			}
		}
		if !metricsFromMonitoring {
			t.Errorf("NetworkPolicy %s: the monitoring namespace cannot scrape", np.Name)
		}
	}
	if r.pdbs[0].Spec.MaxUnavailable == nil || r.pdbs[0].Spec.MaxUnavailable.String() != "25%" {
		t.Errorf("web PDB: %+v", r.pdbs[0].Spec)
	}
}

func checkS3(t *testing.T, r *rendered) {
	cm := r.configMap.Data
	if cm["ROOST_MEDIA_S3_ENDPOINT"] != "https://s3.eu-central-1.amazonaws.com" || cm["ROOST_MEDIA_S3_BUCKET"] != "roost-media" || cm["ROOST_MEDIA_S3_REGION"] != "eu-central-1" {
		t.Errorf("ConfigMap: %v", cm)
	}
	for _, d := range r.deployments {
		ps := d.Spec.Template.Spec
		if c := ps.Containers[0]; !strings.HasPrefix(c.Image, "registry.example/roost@sha256:") {
			t.Errorf("%s: image %s, want the pinned digest", d.Name, c.Image)
		}
		if len(ps.ImagePullSecrets) != 1 || ps.ImagePullSecrets[0].Name != "registry" {
			t.Errorf("%s: pull secrets %v", d.Name, ps.ImagePullSecrets)
		}
	}
	if len(r.pvcs) != 1 || r.pvcs[0].Spec.StorageClassName == nil || *r.pvcs[0].Spec.StorageClassName != "efs" || r.pvcs[0].Spec.Resources.Requests.Storage().String() != "5Gi" {
		t.Errorf("data claim: %v", r.pvcs)
	}
}

// The probes the chart declares are answered by the real binary started
// with the rendered configuration: the migration Job's command migrates
// an empty database, then `roost serve` and `roost work` with the
// ConfigMap and the Secret's variables answer every probe on the port it
// names (listen addresses moved to free loopback ports, media to a
// temporary directory), both with TLS terminated by Roost and in front.
func TestChartProbesAnswered(t *testing.T) {
	bin := roostBinary(t)
	for _, file := range []string{"default-values.yaml", "ingress-values.yaml"} {
		t.Run(strings.TrimSuffix(file, "-values.yaml"), func(t *testing.T) {
			r := render(t, "-f", filepath.Join(chart, "ci", file))
			db := testenv.EmptyDatabaseURL(t)
			_, prefix := testenv.Redis(t)
			secret := map[string]string{"ROOST_DATABASE_URL": db, "ROOST_REDIS_URL": testenv.RedisURL()}

			job := r.jobs[0].Spec.Template.Spec.Containers[0]
			if out, err := runRoost(t, bin, podEnv(t, job, nil, secret), job.Args...).CombinedOutput(); err != nil {
				t.Fatalf("migration Job's command: %v\n%s", err, out)
			}

			media := filepath.Join(t.TempDir(), "media") // the shared data volume
			for _, comp := range []string{"web", "worker"} {
				// Each pod's listen addresses move to free ports of its
				// own; ports maps a container port to its address.
				cm := map[string]string{}
				ports := map[int32]string{}
				for k, v := range r.configMap.Data {
					cm[k] = v
				}
				for _, k := range []string{"ROOST_HTTP_ADDR", "ROOST_HTTPS_ADDR", "ROOST_HTTP_REDIRECT_ADDR", "ROOST_METRICS_ADDR"} {
					if v, ok := cm[k]; ok {
						p := addrPort(t, v)
						if ports[p] == "" {
							ports[p] = freeAddr(t)
						}
						cm[k] = ports[p]
					}
				}
				cm["ROOST_MEDIA_DIR"] = media
				cm["ROOST_REDIS_PREFIX"] = prefix
				c := r.deployments[comp].Spec.Template.Spec.Containers[0]
				cmd := runRoost(t, bin, podEnv(t, c, cm, secret), c.Args...)
				var log bytes.Buffer
				cmd.Stdout, cmd.Stderr = &log, &log
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() {
					cmd.Process.Signal(os.Interrupt)
					cmd.Wait()
					if t.Failed() {
						t.Logf("%s log:\n%s", comp, log.String())
					}
				})
				for _, p := range []*corev1.Probe{c.StartupProbe, c.LivenessProbe, c.ReadinessProbe} {
					addr := ports[containerPort(c, p.HTTPGet.Port.StrVal)]
					if addr == "" {
						t.Fatalf("%s: probe port %v is no listener of the ConfigMap", comp, p.HTTPGet.Port)
					}
					url := "http://" + addr + p.HTTPGet.Path
					if code := waitOK(url); code != http.StatusOK {
						t.Errorf("%s: %s answers %d, want 200", comp, url, code)
					}
				}
				// Scrapers follow the pod's prometheus.io annotations; a
				// worker's metrics include the queue backlog.
				a := r.deployments[comp].Spec.Template.Annotations
				port, _ := strconv.Atoi(a["prometheus.io/port"])
				body := get(t, "http://"+ports[int32(port)]+a["prometheus.io/path"])
				want := map[string]string{"web": "go_goroutines", "worker": "roost_deliveries_overdue_seconds 0"}[comp]
				if !strings.Contains(body, want) {
					t.Errorf("%s: the scraped metrics lack %q:\n%s", comp, want, body)
				}
			}
		})
	}
}

// podEnv is what the kubelet gives the container: the ConfigMap (when the
// container reads it), then its env, with secretKeyRefs from secret.
func podEnv(t *testing.T, c corev1.Container, cm, secret map[string]string) []string {
	t.Helper()
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ROOST_") {
			env = append(env, kv)
		}
	}
	if len(c.EnvFrom) > 0 {
		for k, v := range cm {
			env = append(env, k+"="+v)
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			if v, ok := secret[e.Name]; ok {
				env = append(env, e.Name+"="+v)
			} else if e.ValueFrom.SecretKeyRef.Optional == nil || !*e.ValueFrom.SecretKeyRef.Optional {
				t.Fatalf("%s needs %s from the Secret", c.Name, e.Name)
			}
		case e.ValueFrom == nil:
			env = append(env, e.Name+"="+e.Value)
		default:
			t.Fatalf("%s: unexpected env source %+v", c.Name, e)
		}
	}
	return env
}

func runRoost(t *testing.T, bin string, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	return cmd
}

// waitOK polls url until it answers 200, for at most a minute (a bound
// for a process to come up, not a timing check); it returns the last
// status (0: no answer).
func waitOK(url string) int {
	client := http.Client{Timeout: 5 * time.Second}
	code := 0
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		resp, err := client.Get(url)
		if err != nil {
			continue
		}
		resp.Body.Close()
		if code = resp.StatusCode; code == http.StatusOK {
			break
		}
	}
	return code
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// roostBinary builds cmd/roost once per test run, with the flags of
// cmd/roost's own tests so the build cache is shared (the Dockerfile's
// static build is the same code without cgo, which nothing in it uses).
func roostBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := testenv.TempDir("roost-chart-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "roost")
		cmd := exec.Command("go", "build", "-o", binPath, ".")
		cmd.Dir = "../cmd/roost"
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// The image the chart runs matches the Dockerfile: the build compiles
// ./cmd/roost statically to /roost, the entrypoint the chart's args and
// NOTES' `kubectl exec ... /roost` rely on, and the final stage runs as
// the user the chart's pod security context names.
func TestDockerfileMatchesChart(t *testing.T) {
	f, err := os.Open("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lastFrom, user, entrypoint, build string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		switch word, rest, _ := strings.Cut(l, " "); strings.ToUpper(word) {
		case "FROM":
			lastFrom, user, entrypoint = rest, "", ""
		case "USER":
			user = rest
		case "ENTRYPOINT":
			entrypoint = rest
		}
		if strings.Contains(l, "go build") {
			build = l
		}
	}
	if !strings.Contains(build, "CGO_ENABLED=0") || !regexp.MustCompile(`-o /out/roost \./cmd/roost\b`).MatchString(build) {
		t.Errorf("Dockerfile build line %q: want CGO_ENABLED=0 go build ... -o /out/roost ./cmd/roost", build)
	}
	if _, err := os.Stat("../cmd/roost/main.go"); err != nil {
		t.Errorf("the Dockerfile builds ./cmd/roost: %v", err)
	}
	if !strings.Contains(lastFrom, "distroless/static") || !strings.HasSuffix(lastFrom, ":nonroot") {
		t.Errorf("final stage %q: want distroless static, nonroot", lastFrom)
	}
	if entrypoint != `["/roost"]` {
		t.Errorf("ENTRYPOINT %s, want [\"/roost\"]", entrypoint)
	}
	r := render(t)
	uid := *r.deployments["web"].Spec.Template.Spec.SecurityContext.RunAsUser
	if user != strconv.FormatInt(uid, 10) {
		t.Errorf("Dockerfile USER %q, chart runAsUser %d", user, uid)
	}
}

// NOTES.txt, which helm prints after install, tells the operator where
// to point DNS and how to make the first operator. helm template does not
// render it, so the test renders it through tpl in a copy of the chart.
func TestChartNotes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), chart)
	if err := os.CopyFS(dir, os.DirFS(chart)); err != nil {
		t.Fatal(err)
	}
	notes, err := os.ReadFile(filepath.Join(dir, "templates", "NOTES.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes-src.txt"), notes, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "templates", "zz-notes.yaml"), []byte(`notes: {{ tpl (.Files.Get "notes-src.txt") . | toJson }}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		file string
		want []string
	}{
		{"default-values.yaml", []string{
			"kubectl -n roost get service social-roost -o jsonpath='{.status.loadBalancer.ingress[*]}",
			"portal.roost.example.   A LB_IPV4", "admin.roost.example.   A LB_IPV4", "*.roost.example.   A LB_IPV4",
			"edge.roost.example.   A LB_IPV4",
			"exec deploy/social-roost-web -- /roost operator grant --email you@example.com",
			"https://admin.roost.example/",
		}},
		{"ingress-values.yaml", []string{"TLS ends in front of Roost (Ingress social-roost)", "config.trustedProxies = 10.0.0.0/8",
			"Then set config.publicIPv4"}},
	} {
		out, err := runHelm(t, "template", release, dir, "--namespace", namespace, "--kube-version", kubeVersion,
			"-f", filepath.Join(chart, "ci", c.file), "--show-only", "templates/zz-notes.yaml")
		if err != nil {
			t.Fatalf("%s: %v\n%s", c.file, err, out)
		}
		var doc struct{ Notes string }
		if err := yaml.Unmarshal([]byte(docSep.Split(out, -1)[1]), &doc); err != nil {
			t.Fatalf("%s: %v\n%s", c.file, err, out)
		}
		for _, w := range c.want {
			if !strings.Contains(doc.Notes, w) {
				t.Errorf("%s: NOTES lack %q:\n%s", c.file, w, doc.Notes)
			}
		}
	}
}
