package kubetest

import (
	"context"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// script is a ListWatcher that answers each List and Watch with the next
// of its lists and watchers, recording the resource versions asked for.
// The API server cannot be made to close or expire a watch on demand,
// which is what Until must survive.
type script struct {
	lists    []*corev1.PodList
	watchers []*watch.FakeWatcher
	watchRVs []string
}

func (s *script) List(ctx context.Context, _ metav1.ListOptions) (*corev1.PodList, error) {
	l := s.lists[0]
	s.lists = s.lists[1:]
	return l, nil
}

func (s *script) Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	s.watchRVs = append(s.watchRVs, opts.ResourceVersion)
	if len(s.watchers) == 0 {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	w := s.watchers[0]
	s.watchers = s.watchers[1:]
	return w, nil
}

func pod(name, rv string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, ResourceVersion: rv}}
}

func podList(rv string, pods ...*corev1.Pod) *corev1.PodList {
	l := &corev1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: rv}}
	for _, p := range pods {
		l.Items = append(l.Items, *p)
	}
	return l
}

// events is a watcher that sends what it is given, then closes.
func events(send func(w *watch.FakeWatcher)) *watch.FakeWatcher {
	w := watch.NewFakeWithChanSize(10, false)
	send(w)
	w.Stop()
	return w
}

func named(name string) func(*corev1.Pod) bool {
	return func(p *corev1.Pod) bool { return p.Name == name }
}

func TestUntilFindsInTheList(t *testing.T) {
	s := &script{lists: []*corev1.PodList{podList("5", pod("a", "4"), pod("b", "5"))}}
	got, err := Until(context.Background(), s, named("b"))
	if err != nil || got.Name != "b" {
		t.Fatalf("Until = %v, %v; want pod b", got, err)
	}
	if len(s.watchRVs) != 0 {
		t.Errorf("watched %v after the list had the pod", s.watchRVs)
	}
}

// A watch that closes is taken up again from the last version seen; one
// that expires makes Until list again.
func TestUntilSurvivesClosedAndExpiredWatches(t *testing.T) {
	s := &script{
		lists: []*corev1.PodList{podList("5", pod("a", "5")), podList("20", pod("a", "20"), pod("b", "19"))},
		watchers: []*watch.FakeWatcher{
			events(func(w *watch.FakeWatcher) { w.Modify(pod("a", "7")) }),
			events(func(w *watch.FakeWatcher) {
				w.Error(&metav1.Status{Status: metav1.StatusFailure, Code: 410, Reason: metav1.StatusReasonExpired})
			}),
		},
	}
	got, err := Until(context.Background(), s, named("b"))
	if err != nil || got.Name != "b" {
		t.Fatalf("Until = %v, %v; want pod b", got, err)
	}
	if want := []string{"5", "7"}; len(s.watchRVs) != 2 || s.watchRVs[0] != want[0] || s.watchRVs[1] != want[1] {
		t.Errorf("watched from versions %v, want %v", s.watchRVs, want)
	}
	if len(s.lists) != 0 {
		t.Errorf("listed once, want twice (after the expiry)")
	}
}

func TestUntilEndsWithTheContext(t *testing.T) {
	stop := errors.New("the test is over")
	ctx, cancel := context.WithCancelCause(context.Background())
	s := &script{
		lists:    []*corev1.PodList{podList("5")},
		watchers: []*watch.FakeWatcher{events(func(w *watch.FakeWatcher) { cancel(stop) })},
	}
	if _, err := Until(ctx, s, named("b")); !errors.Is(err, stop) {
		t.Fatalf("Until = %v, want the context's cause", err)
	}
}
