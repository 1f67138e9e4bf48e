package kafkaacl_test

import (
	"slices"
	"testing"

	"github.com/bookstore-platform/bookstore/internal/platform/kafkaacl"
)

// can lists, per principal, the (operation, topic) pairs the rules allow.
func can(rules []kafkaacl.Rule) map[string][][2]string {
	out := map[string][][2]string{}
	for _, r := range rules {
		for _, o := range r.Operations {
			for _, t := range r.Topics {
				out[r.Principal] = append(out[r.Principal], [2]string{o, t})
			}
		}
	}
	return out
}

func TestEachTopicHasOneWriter(t *testing.T) {
	got := can(kafkaacl.AllRules("p."))
	tests := []struct {
		topic   string
		writers []string
	}{
		{"p." + kafkaacl.TopicUsers, []string{"User:user"}},
		{"p." + kafkaacl.TopicOrders, []string{"User:order"}},
		{"p." + kafkaacl.TopicPayments, []string{"User:token"}},
		{"p." + kafkaacl.TopicInventory, []string{"User:inventory"}},
		{"p." + kafkaacl.TopicBooks, []string{"User:inventory"}},
		{"p." + kafkaacl.TopicOrdersCompleted, []string{"User:order"}},
		{"p." + kafkaacl.TopicDeadLetters, []string{"User:user", "User:token", "User:inventory", "User:order"}},
	}
	for _, tc := range tests {
		var writers []string
		for p, pairs := range got {
			if slices.Contains(pairs, [2]string{"Write", tc.topic}) {
				writers = append(writers, p)
			}
		}
		slices.Sort(writers)
		want := slices.Sorted(slices.Values(tc.writers))
		if !slices.Equal(writers, want) {
			t.Errorf("%s: writers %v, want %v", tc.topic, writers, want)
		}
	}
	// Nobody reads the dead letters; the token service reads orders and users only.
	for p, pairs := range got {
		if slices.Contains(pairs, [2]string{"Read", "p." + kafkaacl.TopicDeadLetters}) {
			t.Errorf("%s reads the dead letters", p)
		}
	}
	var reads []string
	for _, pr := range got["User:token"] {
		if pr[0] == "Read" {
			reads = append(reads, pr[1])
		}
	}
	if want := []string{"p." + kafkaacl.TopicOrders, "p." + kafkaacl.TopicUsers}; !slices.Equal(reads, want) {
		t.Errorf("token reads %v, want %v", reads, want)
	}
}

func TestRuleArgs(t *testing.T) {
	r := kafkaacl.Rules("", kafkaacl.Table()[1])[1] // token: read what it consumes
	want := "--add --allow-principal User:token --operation Read --operation Describe --topic bookstore.orders --topic bookstore.users --group token --group token.revocations"
	if r.String() != want {
		t.Fatalf("args %q, want %q", r.String(), want)
	}
}
