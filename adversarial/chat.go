package adversarial

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// ChatDescriber asks a language model behind an OpenAI-compatible chat
// completions endpoint (llama.cpp's server, vLLM, Ollama, LM Studio, ...)
// for descriptions. It sends one request per call:
//
//	POST Endpoint
//	{"model": Model, "messages": [{"role": "system", ...}, {"role": "user", <ChatPrompt>}],
//	 "temperature": Temperature, "seed": r.Seed, "max_tokens": MaxTokens}
//
// and reads choices[0].message.content with [ParseList]. The server is
// whatever the user runs; nothing here downloads a model.
type ChatDescriber struct {
	// Endpoint is the full URL, e.g. http://127.0.0.1:8080/v1/chat/completions.
	Endpoint string
	// Model is the "model" field; servers with one model often ignore it.
	Model string
	// APIKey, if set, is sent as a Bearer token.
	APIKey string
	// Temperature is the sampling temperature (the reference uses 0.6).
	Temperature float64
	// MaxTokens bounds the answer; 0 means 1024.
	MaxTokens int
	// Vocabulary, if set, is listed in the prompt as the words the image
	// generator understands (for the shapes world: [shapes.Words]).
	Vocabulary []string
	// Client is the HTTP client; nil means http.DefaultClient.
	Client *http.Client
}

// ChatPrompt returns the user message ChatDescriber sends: it asks for r.N
// numbered image descriptions that each contain r.Depict, never mention
// r.Avoid (nor plurals or look-alikes), and use as many of r.Words (listed
// once each, in alphabetical order, as the reference lists them) as
// possible with few other words; vocab, if given, is listed as the only
// words the image generator understands.
func ChatPrompt(r Request, vocab []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Write %d short descriptions of images for a text-to-image generator.\n", r.N)
	fmt.Fprintf(&b, "Rules:\n- Every description must contain the word %q.\n", r.Depict)
	if len(r.Avoid) > 0 {
		fmt.Fprintf(&b, "- No description may contain %s, any plural of them, or anything that looks like them.\n", quoteList(r.Avoid))
	}
	// As the reference, the words go as a set in alphabetical order: the
	// model is not told which scored best.
	words := slices.Compact(slices.Sorted(slices.Values(r.Words)))
	fmt.Fprintf(&b, "- Use as many of these words as you can, and few other words: %s.\n", strings.Join(words, ", "))
	if len(vocab) > 0 {
		fmt.Fprintf(&b, "- The generator only understands these words (and a, and, on, in, the, with): %s.\n", strings.Join(vocab, ", "))
	}
	b.WriteString("- One description per line, numbered 1., 2., ...; no other text.\n")
	return b.String()
}

func quoteList(ws []string) string {
	q := make([]string, len(ws))
	for i, w := range ws {
		q[i] = fmt.Sprintf("%q", w)
	}
	return strings.Join(q, ", ")
}

const chatSystem = "You write concise, concrete image descriptions and follow instructions exactly."

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type chatRequest struct {
	Model       string        `json:"model,omitempty"`
	Messages    []chatMessage `json:"messages"`
	Temperature float64       `json:"temperature"`
	Seed        uint64        `json:"seed"`
	MaxTokens   int           `json:"max_tokens"`
}

type chatResponse struct {
	Choices []struct {
		Message chatMessage `json:"message"`
	} `json:"choices"`
	Error *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// ErrChat is wrapped by errors about the chat server's answer.
var ErrChat = errors.New("adversarial: chat server")

// Describe sends the request and returns the parsed descriptions, at most
// r.N, in the answer's order. It does not filter them ([Valid] does, in the
// pipeline). Errors: a transport error, a non-2xx status, an answer that is
// not chat-completions JSON or holds no choice (wrapping [ErrChat]).
func (c *ChatDescriber) Describe(ctx context.Context, r Request) ([]string, error) {
	if c.Endpoint == "" {
		return nil, errors.New("adversarial: ChatDescriber has no endpoint")
	}
	maxTok := c.MaxTokens
	if maxTok <= 0 {
		maxTok = 1024
	}
	body, err := json.Marshal(chatRequest{
		Model: c.Model,
		Messages: []chatMessage{
			{Role: "system", Content: chatSystem},
			{Role: "user", Content: ChatPrompt(r, c.Vocabulary)},
		},
		Temperature: c.Temperature, Seed: r.Seed, MaxTokens: maxTok,
	})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("adversarial: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.APIKey)
	}
	cl := c.Client
	if cl == nil {
		cl = http.DefaultClient
	}
	resp, err := cl.Do(req)
	if err != nil {
		return nil, fmt.Errorf("adversarial: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("adversarial: %s: %w", c.Endpoint, err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%w: %s: %s: %s", ErrChat, c.Endpoint, resp.Status, strings.TrimSpace(string(raw[:min(len(raw), 200)])))
	}
	var cr chatResponse
	if err := json.Unmarshal(raw, &cr); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrChat, c.Endpoint, err)
	}
	if cr.Error != nil {
		return nil, fmt.Errorf("%w: %s: %s", ErrChat, c.Endpoint, cr.Error.Message)
	}
	if len(cr.Choices) == 0 {
		return nil, fmt.Errorf("%w: %s: no choices in the answer", ErrChat, c.Endpoint)
	}
	out := ParseList(cr.Choices[0].Message.Content)
	return out[:min(len(out), max(r.N, 0))], nil
}

var (
	listMarker = regexp.MustCompile(`^\s*(?:\*\*)?(?:\(?\d{1,3}[.):\]]|[-*•]|#\d{1,3}[.:]?)(?:\*\*)?\s+`)
	preamble   = regexp.MustCompile(`(?i)^(here (are|is)|sure|certainly|of course|okay|ok\b|below|these|i hope|note\b|let me)`)
)

// ParseList reads a language model's answer into descriptions. Lines end
// at "\n", "\r\n" or a lone "\r". Items are lines that start with a list marker ("1.", "2)", "(3)", "4:", "**5.**",
// "-", "*", "•"); when no line has one, every line counts. Markers, wrapping
// quotes and markdown emphasis are stripped. Empty lines, headings (ending
// in ":"), preambles and sign-offs ("Here are ...", "Sure", "I hope ...")
// and code fences are junk and skipped.
func ParseList(answer string) []string {
	lines := strings.Split(strings.ReplaceAll(strings.ReplaceAll(answer, "\r\n", "\n"), "\r", "\n"), "\n")
	marked := false
	for _, l := range lines {
		if listMarker.MatchString(l) {
			marked = true
			break
		}
	}
	var out []string
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if marked {
			loc := listMarker.FindStringIndex(l)
			if loc == nil {
				continue
			}
			l = l[loc[1]:]
		}
		l = cleanItem(l)
		if l == "" || strings.HasSuffix(l, ":") || strings.HasPrefix(l, "```") || preamble.MatchString(l) {
			continue
		}
		out = append(out, l)
	}
	return out
}

// cleanItem strips emphasis, wrapping quotes and trailing spaces.
func cleanItem(s string) string {
	s = strings.TrimSpace(s)
	for _, p := range []string{"**", "__", "*", "_"} {
		if len(s) > 2*len(p) && strings.HasPrefix(s, p) && strings.HasSuffix(s, p) {
			s = strings.TrimSpace(s[len(p) : len(s)-len(p)])
		}
	}
	for _, q := range [][2]string{{`"`, `"`}, {"'", "'"}, {"“", "”"}, {"`", "`"}} {
		if len(s) >= 2 && strings.HasPrefix(s, q[0]) && strings.HasSuffix(s, q[1]) {
			s = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(s, q[0]), q[1]))
		}
	}
	return s
}
