package local

import "github.com/liftoffhq/liftoff/internal/target"

// InstanceAt says which instance (an environment, or one pull request's
// preview) serves a host, as a Host header gives it (any port, any case):
// the instance of the release the proxy routes it to. ok is false where
// nothing is deployed. It reads the proxy's route table, in memory, so
// what sits in front of the proxy (preview protection) may call it on
// every request.
func (t *Target) InstanceAt(host string) (inst target.Instance, ok bool) {
	key, ok := routeKey(host)
	if !ok {
		return target.Instance{}, false
	}
	b := t.routes.lookup(key)
	if b == nil {
		return target.Instance{}, false
	}
	return b.instance, true
}
