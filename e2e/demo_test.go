package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"

	live "github.com/live-go/live"
)

// TestDemoPanels opens the demo in two tabs and clicks through each panel:
// the per-tab counter, the shared todo list, the chat with presence, an
// upload with its progress, and the monitor. Then it saves a screenshot and
// fails on a blank page or on anything the page reported to its console.
func TestDemoPanels(t *testing.T) {
	browser := newBrowser(t) // first: skips without Chromium
	demo := startDemo(t, "127.0.0.1:0")
	a, b := newTab(t, browser, "A"), newTab(t, browser, "B")
	a.open(t, demo.url())
	b.open(t, demo.url())
	a.waitJS(t, "the first monitor sample", `/^\d+$/.test(document.getElementById("mon-actions").textContent)`)
	actionsBefore := atoi(t, a.text(t, "mon-actions"))

	panels := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"counter is per tab", func(t *testing.T) {
			a.waitText(t, "count", "0")
			for range 3 {
				a.do(t, "click +", chromedp.Click(chromedp.CSS("#inc")))
			}
			a.waitText(t, "count", "3")
			a.do(t, "click −", chromedp.Click(chromedp.CSS("#dec")))
			a.waitText(t, "count", "2")
			a.waitText(t, "last-action", "decrement")
			b.do(t, "click + in B", chromedp.Click(chromedp.CSS("#inc")))
			b.waitText(t, "count", "1")
			a.waitText(t, "count", "2") // B's click did not reach A's counter
		}},
		{"todo list is shared", func(t *testing.T) {
			addTodo(t, a, "buy milk")
			b.waitJS(t, "the todo in B", todoShown("buy milk", false))
			b.do(t, "toggle the todo in B", chromedp.Click(chromedp.CSS("#todos li:last-child input")))
			a.waitJS(t, "the toggled todo in A", todoShown("buy milk", true))
			a.waitText(t, "todo-meta", "0 open, 1 done")
		}},
		{"chat with presence", func(t *testing.T) {
			joinChat(t, a, "alice")
			a.waitJS(t, "alice alone", membersAre("alice"))
			joinChat(t, b, "bob")
			a.waitJS(t, "bob in A's member list", membersAre("alice", "bob"))
			b.waitJS(t, "both in B's member list", membersAre("alice", "bob"))
			b.waitText(t, "chat-online", "2")
			a.do(t, "type a message",
				chromedp.SendKeys(chromedp.CSS("#chat-text"), "hello from alice"),
				chromedp.Click(chromedp.CSS("#chat-send")))
			b.waitJS(t, "alice's message in B", messageShown("alice", "hello from alice"))
			b.do(t, "answer",
				chromedp.SendKeys(chromedp.CSS("#chat-text"), "hi alice"),
				chromedp.Click(chromedp.CSS("#chat-send")))
			a.waitJS(t, "bob's answer in A", messageShown("bob", "hi alice"))
			a.waitJS(t, "the input cleared after sending", `document.getElementById("chat-text").value === ""`)
			// A third tab joins and leaves: presence follows it.
			c := newTab(t, browser, "C")
			c.open(t, demo.url())
			joinChat(t, c, "carol")
			a.waitJS(t, "carol in A's member list", membersAre("alice", "bob", "carol"))
			c.waitJS(t, "the history in C", messageShown("bob", "hi alice"))
			c.close(t)
			a.waitJS(t, "carol gone from A's member list", membersAre("alice", "bob"))
			a.waitText(t, "chat-online", "2")
		}},
		{"upload with progress", func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "noise.png")
			data := noisePNG(t, 240, 160, 7)
			if err := os.WriteFile(file, data, 0o644); err != nil {
				t.Fatal(err)
			}
			a.do(t, "choose the file", chromedp.SetUploadFiles(chromedp.CSS("#upload-file"), []string{file}))
			a.do(t, "upload", chromedp.Click(chromedp.CSS("#upload-btn")))
			a.waitJS(t, "the upload to finish", `/^(uploaded|upload failed)/.test(document.getElementById("upload-status").textContent)`)
			if status := a.text(t, "upload-status"); !regexp.MustCompile(`^uploaded noise\.png \(`).MatchString(status) {
				t.Fatalf("upload status %q (page error line %q): the server's upload wiring "+
					"(live.Options.Uploads, the Gallery's UploadHook) may be missing", status, a.errorLine())
			}
			m := regexp.MustCompile(`, (\d+) chunks\)$`).FindStringSubmatch(a.text(t, "upload-status"))
			if m == nil || atoi(t, m[1]) < 2 {
				t.Errorf("upload status %q: want progress over several chunks", a.text(t, "upload-status"))
			}
			a.waitText(t, "upload-percent", "100 %")
			if v := eval[float64](t, a, "read the progress bar", `document.getElementById("upload-progress").value`); v != 100 {
				t.Errorf("progress bar at %v, want 100", v)
			}
			// Both tabs list the file, and the image is served.
			for _, tb := range []*tab{a, b} {
				tb.waitJS(t, "the file in the gallery", `[...document.querySelectorAll("#files li div")].some((d) => d.textContent.startsWith("noise.png"))`)
				tb.waitJS(t, "the image loaded", `[...document.querySelectorAll("#files img")].some((i) => i.complete && i.naturalWidth === 240)`)
			}
			url := eval[string](t, a, "read the file URL", `document.querySelector("#files li").dataset.url`)
			resp, err := http.Get("http://" + demo.addr + url)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			if err != nil || resp.StatusCode != 200 || string(got) != string(data) {
				t.Errorf("GET %s = %d, %d bytes (err %v), want the uploaded %d bytes", url, resp.StatusCode, len(got), err, len(data))
			}
		}},
		{"monitor", func(t *testing.T) {
			a.waitJS(t, "two connections", `+document.getElementById("mon-connections").textContent >= 2`)
			a.waitJS(t, "components counted", `+document.getElementById("mon-components").textContent >= 6`) // 2 Counters, 2 Chats, TodoList, Gallery
			a.waitJS(t, "the actions counted", fmt.Sprintf(`+document.getElementById("mon-actions").textContent >= %d`, actionsBefore+5))
			a.waitJS(t, "a rate shown", `/^\d+(\.\d)?$/.test(document.getElementById("mon-aps").textContent)`)
			a.waitJS(t, "the lobby counted", `+document.getElementById("mon-rooms").textContent >= 1`)
			a.waitJS(t, "the sparkline", `document.querySelectorAll("#mon-spark i").length >= 2`)
		}},
	}
	for _, p := range panels {
		if !t.Run(p.name, p.run) {
			t.FailNow() // later panels build on earlier ones
		}
	}

	shot := a.screenshot(t)
	path := filepath.Join(artifactsDir(t), "demo.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of the demo: %s", path)
	if err := checkNotBlank(shot); err != nil {
		t.Error(err)
	}
	a.checkConsoleClean(t)
	b.checkConsoleClean(t)
}

// TestDemoTabsStayInSync edits the shared todo list from two tabs in turn
// and checks that both always show the same list.
func TestDemoTabsStayInSync(t *testing.T) {
	browser := newBrowser(t) // first: skips without Chromium
	demo := startDemo(t, "127.0.0.1:0")
	a, b := newTab(t, browser, "A"), newTab(t, browser, "B")
	a.open(t, demo.url())
	b.open(t, demo.url())

	addTodo(t, a, "one")
	addTodo(t, b, "two")
	addTodo(t, a, "three")
	b.do(t, "toggle one in B", chromedp.Click(chromedp.CSS(`#todos li:first-child input`)))
	a.do(t, "toggle three in A", chromedp.Click(chromedp.CSS(`#todos li:last-child input`)))

	want := `["one:done","two:open","three:done"]`
	for _, tb := range []*tab{a, b} {
		tb.waitJS(t, "the list "+want, fmt.Sprintf(`JSON.stringify(%s) === %q`, todoListJS, want))
		tb.waitText(t, "todo-meta", "1 open, 2 done")
	}
	a.checkConsoleClean(t)
	b.checkConsoleClean(t)
}

// TestDemoSurvivesRestart restarts the server under an open page: the page
// reconnects by itself, gets its counter, todos and chat name back from the
// signed state it kept, and goes on from there.
func TestDemoSurvivesRestart(t *testing.T) {
	browser := newBrowser(t) // first: skips without Chromium
	first := startDemo(t, "127.0.0.1:0")
	a := newTab(t, browser, "A")
	a.open(t, first.url())

	const n = 4
	for range n {
		a.do(t, "click +", chromedp.Click(chromedp.CSS("#inc")))
	}
	a.waitText(t, "count", strconv.Itoa(n))
	addTodo(t, a, "survive the restart")
	joinChat(t, a, "alice")
	a.waitJS(t, "alice in the lobby", membersAre("alice"))
	// The signed states the tab keeps must cover the last changes before
	// the server goes away (signatures are renewed at most once a second).
	a.waitJS(t, "a signed Counter with the final count", signedState("Counter", fmt.Sprintf("s.count === %d", n)))
	a.waitJS(t, "a signed TodoList with the todo", signedState("TodoList", `s.todos.some((x) => x.text === "survive the restart")`))
	a.waitJS(t, "a signed Chat with the name", signedState("Chat", `s.name === "alice"`))

	first.stop(t)
	a.waitJS(t, "the page to notice", `!document.getElementById("status").textContent.startsWith("connected")`)

	second := startDemo(t, first.addr) // same port, same secret
	a.waitJS(t, "the page to reconnect", `document.getElementById("status").textContent.startsWith("connected")`)
	a.waitJS(t, "the counter back", `!document.getElementById("inc").disabled`)
	a.waitText(t, "count", strconv.Itoa(n))
	a.do(t, "click + after the restart", chromedp.Click(chromedp.CSS("#inc")))
	a.waitText(t, "count", strconv.Itoa(n+1)) // a re-mounted counter would show 1
	a.waitJS(t, "the todo back", todoShown("survive the restart", false))
	addTodo(t, a, "after the restart")
	a.waitJS(t, "both todos", fmt.Sprintf(`JSON.stringify(%s) === %q`, todoListJS, `["survive the restart:open","after the restart:open"]`))
	a.waitJS(t, "alice back in the lobby", membersAre("alice"))
	a.waitText(t, "chat-me", "alice")

	var stats struct {
		Server struct {
			Rehydrates int `json:"rehydrates"`
		} `json:"server"`
	}
	getJSON(t, "http://"+second.addr+live.DefaultPrefix+"/stats", &stats)
	if stats.Server.Rehydrates < 3 {
		t.Errorf("the new server rehydrated %d components, want at least 3 (Counter, TodoList, Chat)", stats.Server.Rehydrates)
	}
	for _, m := range a.problems(t) {
		if m.IsException() {
			t.Errorf("uncaught exception: %s", m)
		}
	}
}

// ---- page helpers ----

// addTodo adds a todo from tb and waits for it to show.
func addTodo(t *testing.T, tb *tab, text string) {
	t.Helper()
	tb.do(t, "add todo "+text,
		chromedp.SendKeys(chromedp.CSS("#todo-text"), text),
		chromedp.Click(chromedp.CSS("#todo-add")))
	tb.waitJS(t, "todo "+text, todoShown(text, false))
}

// joinChat joins the chat from tb under name.
func joinChat(t *testing.T, tb *tab, name string) {
	t.Helper()
	tb.do(t, "join the chat as "+name,
		chromedp.SetValue(chromedp.CSS("#chat-name"), name),
		chromedp.Click(chromedp.CSS("#chat-join-btn")))
	tb.waitText(t, "chat-me", name)
}

// todoListJS evaluates to the shown todos as ["text:done|open", …].
const todoListJS = `[...document.querySelectorAll("#todos li")].map((li) => li.textContent.trim() + ":" + (li.querySelector("input").checked ? "done" : "open"))`

// todoShown is a predicate: the todo with text is listed, done or not.
func todoShown(text string, done bool) string {
	state := "open"
	if done {
		state = "done"
	}
	return fmt.Sprintf(`%s.includes(%q)`, todoListJS, text+":"+state)
}

// membersAre is a predicate: the chat member list is exactly names.
func membersAre(names ...string) string {
	want, _ := json.Marshal(names)
	return fmt.Sprintf(`JSON.stringify([...document.querySelectorAll("#chat-members li")].map((li) => li.textContent)) === %q`, want)
}

// messageShown is a predicate: the chat shows text from sender.
func messageShown(from, text string) string {
	return fmt.Sprintf(`[...document.querySelectorAll("#chat-messages li")].some((li) => li.textContent.endsWith(%q))`, from+": "+text)
}

// signedState is a predicate: the signed state of component name, as the
// client keeps it in sessionStorage (the reference storage format, spec
// §3.9), satisfies cond, a JavaScript expression on the state s.
func signedState(name, cond string) string {
	return fmt.Sprintf(`(() => { try {
		const e = JSON.parse(sessionStorage.getItem("fluxstack_component_" + %q));
		const s = JSON.parse(e.signedState.data);
		return %s;
	} catch { return false; } })()`, name, cond)
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%q is not a number", s)
	}
	return n
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	c := &http.Client{Timeout: stepTimeout}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}
