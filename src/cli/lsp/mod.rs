//! `nnspec lsp`: a language server over standard input and output (rust-analyzer's
//! synchronous `lsp-server` scaffold, `lsp-types`). Full-text sync; on every open and change
//! the document is checked and its diagnostics published; hover shows a quantity's type in
//! the book's notation, definition jumps to its declaration, and completion turns ASCII and
//! LaTeX names into symbols (`\beta` → `β`, `sum` → `∑`) from `dsl::spelling`'s table.

mod doc;

use doc::Doc;
use lsp_server::{Connection, Message, Notification, Request, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, Notification as _,
    PublishDiagnostics,
};
use lsp_types::request::{Completion, GotoDefinition, HoverRequest, Request as _};
use lsp_types::{
    CompletionOptions, CompletionResponse, GotoDefinitionResponse, Hover, HoverContents,
    HoverProviderCapability, Location, MarkupContent, MarkupKind, OneOf, PublishDiagnosticsParams,
    ServerCapabilities, TextDocumentSyncCapability, TextDocumentSyncKind, Uri,
};
use std::collections::HashMap;
use std::process::ExitCode;

/// Runs the server until the client says `exit`.
pub(crate) fn lsp() -> ExitCode {
    let (connection, io) = Connection::stdio();
    let caps = ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec!["\\".to_string()]),
            ..Default::default()
        }),
        ..Default::default()
    };
    let caps = serde_json::to_value(caps).unwrap_or_default();
    if let Err(e) = connection.initialize(caps) {
        eprintln!("error: nnspec lsp: {e}");
        return ExitCode::FAILURE;
    }
    let result = serve(&connection);
    drop(connection);
    let joined = io.join();
    match (result, joined) {
        (Ok(()), Ok(())) => ExitCode::SUCCESS,
        (Err(e), _) => {
            eprintln!("error: nnspec lsp: {e}");
            ExitCode::FAILURE
        }
        (_, Err(e)) => {
            eprintln!("error: nnspec lsp: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(connection: &Connection) -> Result<(), String> {
    let mut docs: HashMap<String, Doc> = HashMap::new();
    for msg in &connection.receiver {
        match msg {
            Message::Request(req) => {
                if connection
                    .handle_shutdown(&req)
                    .map_err(|e| e.to_string())?
                {
                    return Ok(());
                }
                let resp = answer(&docs, req);
                send(connection, Message::Response(resp))?;
            }
            Message::Notification(n) => {
                if let Some(uri) = update(&mut docs, n) {
                    let diagnostics = docs
                        .get(uri.as_str())
                        .map(Doc::lsp_diagnostics)
                        .unwrap_or_default();
                    let params = PublishDiagnosticsParams {
                        uri,
                        diagnostics,
                        version: None,
                    };
                    let note = Notification::new(PublishDiagnostics::METHOD.to_string(), params);
                    send(connection, Message::Notification(note))?;
                }
            }
            Message::Response(_) => {}
        }
    }
    Ok(())
}

fn send(connection: &Connection, msg: Message) -> Result<(), String> {
    connection.sender.send(msg).map_err(|e| e.to_string())
}

/// Applies an open, change or close; returns the document whose diagnostics changed.
fn update(docs: &mut HashMap<String, Doc>, n: Notification) -> Option<Uri> {
    match n.method.as_str() {
        DidOpenTextDocument::METHOD => {
            let p: lsp_types::DidOpenTextDocumentParams =
                n.extract(DidOpenTextDocument::METHOD).ok()?;
            let uri = p.text_document.uri;
            docs.insert(uri.as_str().to_string(), Doc::new(p.text_document.text));
            Some(uri)
        }
        DidChangeTextDocument::METHOD => {
            let p: lsp_types::DidChangeTextDocumentParams =
                n.extract(DidChangeTextDocument::METHOD).ok()?;
            let text = p.content_changes.into_iter().last()?.text;
            let uri = p.text_document.uri;
            docs.insert(uri.as_str().to_string(), Doc::new(text));
            Some(uri)
        }
        DidCloseTextDocument::METHOD => {
            let p: lsp_types::DidCloseTextDocumentParams =
                n.extract(DidCloseTextDocument::METHOD).ok()?;
            docs.remove(p.text_document.uri.as_str());
            None
        }
        _ => None,
    }
}

/// The answer to a request: hover, definition, completion, or "method not found".
fn answer(docs: &HashMap<String, Doc>, req: Request) -> Response {
    let id = req.id.clone();
    let invalid = |e: String| Response::new_err(id.clone(), -32602, e);
    match req.method.as_str() {
        HoverRequest::METHOD => {
            let p: lsp_types::HoverParams = match req.extract(HoverRequest::METHOD) {
                Ok((_, p)) => p,
                Err(e) => return invalid(format!("{e:?}")),
            };
            let tp = p.text_document_position_params;
            let hover = docs
                .get(tp.text_document.uri.as_str())
                .and_then(|d| d.hover(tp.position));
            let hover = hover.map(|(text, range)| Hover {
                contents: HoverContents::Markup(MarkupContent {
                    kind: MarkupKind::Markdown,
                    value: text,
                }),
                range: Some(range),
            });
            Response::new_ok(id, hover)
        }
        GotoDefinition::METHOD => {
            let p: lsp_types::GotoDefinitionParams = match req.extract(GotoDefinition::METHOD) {
                Ok((_, p)) => p,
                Err(e) => return invalid(format!("{e:?}")),
            };
            let tp = p.text_document_position_params;
            let uri = tp.text_document.uri;
            let def = docs
                .get(uri.as_str())
                .and_then(|d| d.definition(tp.position));
            let def = def.map(|range| GotoDefinitionResponse::Scalar(Location { uri, range }));
            Response::new_ok(id, def)
        }
        Completion::METHOD => {
            let p: lsp_types::CompletionParams = match req.extract(Completion::METHOD) {
                Ok((_, p)) => p,
                Err(e) => return invalid(format!("{e:?}")),
            };
            let tp = p.text_document_position;
            let items = docs
                .get(tp.text_document.uri.as_str())
                .map(|d| d.completions(tp.position))
                .unwrap_or_default();
            Response::new_ok(id, CompletionResponse::Array(items))
        }
        _ => Response::new_err(id, -32601, format!("unknown method {}", req.method)),
    }
}
