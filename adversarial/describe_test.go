package adversarial

import (
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/neuronlens/neuronlens/internal/shapes"
)

func TestCompose(t *testing.T) {
	tests := []struct {
		name  string
		b     string
		words []string
		want  string
	}{
		{"bare", "moon", nil, "a moon"},
		{"setting", "moon", []string{"sky"}, "a moon in the sky"},
		{"setting phrase", "circle", []string{"on water"}, "a circle on water"},
		{"noun setting", "square", []string{"striped background"}, "a square on a striped background"},
		{"colour", "cross", []string{"white"}, "a white cross"},
		{"count", "square", []string{"three", "red"}, "three red squares"},
		{"count plural es", "cross", []string{"two"}, "two crosses"},
		{"companion", "moon", []string{"yellow circle"}, "a moon and a small yellow circle"},
		{"companion group", "moon", []string{"two hearts", "large"}, "a large moon and two small hearts"},
		{"own shape modifies", "circle", []string{"red circle", "blue"}, "a red circle"},
		{"first setting wins", "ring", []string{"water", "sky", "small"}, "a small ring on water"},
		{"unknown word", "moon", []string{"telescope", "sky"}, "a moon in the sky with telescope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, compose(tt.b, tt.words))
		})
	}
}

func TestTemplateDescriberParses(t *testing.T) {
	r := Request{Depict: "moon", Avoid: []string{"star"}, Words: []string{"sky", "yellow", "three", "dotted", "small circle"}, N: 40, Seed: 7}
	ds, err := TemplateDescriber{}.Describe(t.Context(), r)
	require.NoError(t, err)
	require.Len(t, ds, 40)
	again, err := TemplateDescriber{}.Describe(t.Context(), r)
	require.NoError(t, err)
	assert.Equal(t, ds, again, "deterministic")
	r.Seed = 8
	other, err := TemplateDescriber{}.Describe(t.Context(), r)
	require.NoError(t, err)
	assert.NotEqual(t, ds, other)
	used := map[string]bool{}
	for _, d := range ds {
		assert.True(t, Valid(d, "moon", []string{"star"}), d)
		sc, ignored := shapes.Parse(d, 1)
		assert.Empty(t, ignored, d)
		cls, ok := sc.Class()
		require.True(t, ok)
		assert.Equal(t, shapes.Moon, cls, d)
		for _, w := range r.Words {
			if mentions(d, w) {
				used[w] = true
			}
		}
		if mentions(d, "sky") {
			assert.Equal(t, shapes.Sky, sc.Background)
		}
	}
	assert.True(t, used["sky"] && used["yellow"], "the best words are used: %v", used)
}

func TestValid(t *testing.T) {
	tests := []struct {
		d    string
		want bool
	}{
		{"a moon in the sky", true},
		{"two moons", true},
		{"a circle in the sky", false},
		{"a moon and a star", false},
		{"a moon and two STARS", false},
		{"a Moon and a starfish", false},
	}
	for _, tt := range tests {
		t.Run(tt.d, func(t *testing.T) {
			assert.Equal(t, tt.want, Valid(tt.d, "moon", []string{"star"}))
		})
	}
}

func TestParseList(t *testing.T) {
	tests := []struct {
		name   string
		answer string
		want   []string
	}{
		{"numbered", "1. a red moon\n2. a moon in the sky\n", []string{"a red moon", "a moon in the sky"}},
		{"preamble and sign-off", "Here are 2 descriptions:\n\n1) a red moon\n2) \"a moon on water\"\n\nI hope these help!", []string{"a red moon", "a moon on water"}},
		{"markdown", "**Descriptions:**\n**1.** a red moon\n2. **a blue moon**\n- a green moon", []string{"a red moon", "a blue moon", "a green moon"}},
		{"bullets and parens", "• a moon\n(2) a small moon\n3: a large moon", []string{"a moon", "a small moon", "a large moon"}},
		{"junk between items", "1. a moon\nThis one uses sky:\n2. a moon in the sky\n```", []string{"a moon", "a moon in the sky"}},
		{"no markers", "a moon\n\nSure!\na red moon\r\n", []string{"a moon", "a red moon"}},
		{"empty", "", nil},
		{"lone carriage returns", "1. a moon\r2. a red moon\r", []string{"a moon", "a red moon"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, ParseList(tt.answer))
		})
	}
}

func TestChatPrompt(t *testing.T) {
	p := ChatPrompt(Request{Depict: "moon", Avoid: []string{"star", "sun"}, Words: []string{"yellow", "sky", "yellow"}, N: 5}, []string{"moon", "sky"})
	for _, want := range []string{"Write 5", `"moon"`, `"star", "sun"`, "sky, yellow", "only understands these words", "numbered"} {
		assert.Contains(t, p, want)
	}
}

func TestChatDescriber(t *testing.T) {
	var got chatRequest
	var auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &got); err != nil || r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		auth = r.Header.Get("Authorization")
		json.NewEncoder(w).Encode(map[string]any{"choices": []any{map[string]any{"message": map[string]string{
			"role": "assistant", "content": "Sure! Here are the descriptions:\n1. a moon in the sky\n2. a star and a moon\n3. a yellow moon\n4. extra",
		}}}})
	}))
	defer srv.Close()
	c := &ChatDescriber{Endpoint: srv.URL + "/v1/chat/completions", Model: "local", APIKey: "k", Temperature: 0.6, Client: srv.Client()}
	r := Request{Depict: "moon", Avoid: []string{"star"}, Words: []string{"sky", "yellow"}, N: 3, Seed: 9}
	ds, err := c.Describe(t.Context(), r)
	require.NoError(t, err)
	assert.Equal(t, []string{"a moon in the sky", "a star and a moon", "a yellow moon"}, ds, "parsed, cut to N, not filtered")
	assert.Equal(t, "local", got.Model)
	assert.Equal(t, uint64(9), got.Seed)
	assert.Equal(t, 1024, got.MaxTokens)
	require.Len(t, got.Messages, 2)
	assert.Equal(t, ChatPrompt(r, nil), got.Messages[1].Content)
	assert.Equal(t, "Bearer k", auth)
}

func TestChatDescriberErrors(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"status", func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
		}, "503"},
		{"not json", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "<html>") }, "chat server"},
		{"no choices", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, `{"choices": []}`) }, "no choices"},
		{"error field", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, `{"error": {"message": "no model"}}`) }, "no model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			c := &ChatDescriber{Endpoint: srv.URL, Client: srv.Client()}
			_, err := c.Describe(t.Context(), Request{Depict: "moon", N: 2})
			assert.ErrorContains(t, err, tt.want)
		})
	}
	_, err := (&ChatDescriber{}).Describe(t.Context(), Request{})
	assert.ErrorContains(t, err, "no endpoint")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = TemplateDescriber{}.Describe(ctx, Request{Depict: "moon", N: 2})
	assert.ErrorIs(t, err, context.Canceled)
}

// TestDrawWords checks both draws: alike, as the reference's language model
// gets the words (a set), each of 10 words starts about a tenth of the
// descriptions; ranked, the first word about 1/H₁₀ ≈ 34% and the last
// about 3.4%.
func TestDrawWords(t *testing.T) {
	words := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}
	const n = 20000
	for _, ranked := range []bool{false, true} {
		first := map[string]int{}
		rng := rand.New(rand.NewPCG(1, 2))
		for range n {
			w := drawWords(rng, words, 2, ranked)
			require.Len(t, w, 2)
			require.NotEqual(t, w[0], w[1])
			first[w[0]]++
		}
		h := 0.0
		for i := range words {
			h += 1 / float64(i+1)
		}
		for i, w := range words {
			want := 0.1
			if ranked {
				want = 1 / float64(i+1) / h
			}
			assert.InDeltaf(t, want, float64(first[w])/n, 0.012, "ranked %v, word %d", ranked, i)
		}
	}
}
