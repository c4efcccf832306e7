//! `nnspec lsp`, driven by a scripted client over standard input and output: initialise, open
//! a spec with an error (its diagnostic at the right line and UTF-16 column), fix it (no
//! diagnostic), hover over a parameter (its type in the book's notation with numbers), jump to
//! its declaration, complete `\bet`, `Omeg` and `su` to symbols, shut down and exit. Every
//! read has a time limit, so a broken server fails the test instead of hanging it.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(30);

struct Client {
    child: Child,
    stdin: ChildStdin,
    messages: Receiver<Value>,
}

impl Client {
    fn start() -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_nnspec"))
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("nnspec lsp starts");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, messages) = channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let mut len = 0usize;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(v) = line.strip_prefix("Content-Length: ") {
                        len = v.parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0u8; len];
                if r.read_exact(&mut body).is_err() {
                    return;
                }
                let Ok(v) = serde_json::from_slice::<Value>(&body) else {
                    return;
                };
                if tx.send(v).is_err() {
                    return;
                }
            }
        });
        Client {
            child,
            stdin,
            messages,
        }
    }

    fn send(&mut self, msg: Value) {
        let body = msg.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("write");
        self.stdin.flush().expect("flush");
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Sends a request and waits for its response (skipping notifications).
    fn request(&mut self, id: i64, method: &str, params: Value) -> Value {
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let m = self.next();
            if m["id"] == json!(id) {
                assert!(m.get("error").is_none(), "{method}: {m}");
                return m["result"].clone();
            }
        }
    }

    fn next(&self) -> Value {
        self.messages
            .recv_timeout(LIMIT)
            .expect("the server answers in time")
    }

    /// The next diagnostics published for a document.
    fn diagnostics(&self, uri: &str) -> Vec<Value> {
        loop {
            let m = self.next();
            if m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri {
                return m["params"]["diagnostics"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
            }
        }
    }
}

const URI: &str = "file:///tmp/lsp_test.nn";

/// A spec whose line 4 (from 0) reads `γ`, unknown, after the non-BMP `𝟏` (two UTF-16 units):
/// `γ` is at UTF-16 column 37 (byte 42, character 36; counted with Python).
const BROKEN: &str = "model M[D = 64, D_i = 64] {
    input  x : ℝ^{D_i}
    target y : ℝ^D
    param  β_0 : ℝ^D, Ω_0 : ℝ^{D×D_i}
    f[x, φ] = β_0 + Ω_0 x + 0.1 𝟏 + γ
    loss L[φ] = ∑_i ‖f[x_i, φ] - y_i‖²
}
";

fn position(line: u32, character: u32) -> Value {
    json!({"textDocument": {"uri": URI}, "position": {"line": line, "character": character}})
}

#[test]
fn a_scripted_client_gets_diagnostics_hover_definition_and_completion() {
    let mut c = Client::start();
    let init = c.request(
        1,
        "initialize",
        json!({"capabilities": {}, "processId": null}),
    );
    assert_eq!(init["capabilities"]["hoverProvider"], json!(true), "{init}");
    c.notify("initialized", json!({}));

    let doc = json!({"uri": URI, "languageId": "nnspec", "version": 1, "text": BROKEN});
    c.notify("textDocument/didOpen", json!({"textDocument": doc}));
    let diags = c.diagnostics(URI);
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(
        diags[0]["range"]["start"],
        json!({"line": 4, "character": 37})
    );
    assert_eq!(
        diags[0]["range"]["end"],
        json!({"line": 4, "character": 38})
    );
    assert!(
        diags[0]["message"].as_str().unwrap_or("").contains('γ'),
        "{diags:?}"
    );

    let fixed = BROKEN.replace(" + γ", "");
    let change =
        json!({"textDocument": {"uri": URI, "version": 2}, "contentChanges": [{"text": fixed}]});
    c.notify("textDocument/didChange", change);
    assert_eq!(c.diagnostics(URI), Vec::<Value>::new());

    // `Ω_0` in `f[x, φ] = β_0 + Ω_0 x`: line 4, columns 20–23.
    let hover = c.request(2, "textDocument/hover", position(4, 21));
    let text = hover["contents"]["value"].as_str().unwrap_or("");
    assert!(
        text.contains("param Ω_0 : ℝ^{D×D_i} (= ℝ^{64×64})"),
        "{hover}"
    );
    assert_eq!(hover["range"]["start"], json!({"line": 4, "character": 20}));

    // Its declaration: line 3, `Ω_0` after `    param  β_0 : ℝ^D, ` (22 units).
    let def = c.request(3, "textDocument/definition", position(4, 21));
    assert_eq!(def["uri"], URI, "{def}");
    assert_eq!(
        def["range"]["start"],
        json!({"line": 3, "character": 22}),
        "{def}"
    );

    let typing = "model N {\n    a = \\bet\n    b = Omeg\n    c = su\n}\n";
    let doc2 = "file:///tmp/lsp_typing.nn";
    let open = json!({"uri": doc2, "languageId": "nnspec", "version": 1, "text": typing});
    c.notify("textDocument/didOpen", json!({"textDocument": open}));
    let _ = c.diagnostics(doc2);
    for (id, line, ch, typed, symbol) in [
        (4, 1, 12, "\\beta", "β"),
        (5, 2, 12, "Omega", "Ω"),
        (6, 3, 10, "sum", "∑"),
    ] {
        let at =
            json!({"textDocument": {"uri": doc2}, "position": {"line": line, "character": ch}});
        let items = c.request(id, "textDocument/completion", at);
        let item = items
            .as_array()
            .and_then(|a| a.iter().find(|i| i["label"] == typed))
            .unwrap_or_else(|| panic!("no {typed} in {items}"));
        assert_eq!(item["textEdit"]["newText"], symbol);
        assert_eq!(
            item["textEdit"]["range"]["start"],
            json!({"line": line, "character": 8})
        );
        assert_eq!(
            item["textEdit"]["range"]["end"],
            json!({"line": line, "character": ch})
        );
    }

    assert_eq!(c.request(7, "shutdown", Value::Null), Value::Null);
    c.notify("exit", Value::Null);
    for _ in 0..300 {
        if let Some(status) = c.child.try_wait().expect("wait") {
            assert!(status.success(), "{status}");
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = c.child.kill();
    panic!("the server did not exit after `exit`");
}
