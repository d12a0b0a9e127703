// The polyaxonfile editor: CodeMirror 6 with YAML, line numbers, folding, bracket and indent handling, search,
// undo, lint gutter and autocompletion. Myelin's Leptos app loads it on the editor page only, mounts it and
// drives it (window.MyelinEditor): the app compiles every change with the compiler module (`editor_core`, wasm,
// loaded here on demand) and hands the diagnostics back.
import { EditorState } from '@codemirror/state';
import {
  EditorView, keymap, lineNumbers, highlightActiveLine, highlightActiveLineGutter, drawSelection,
} from '@codemirror/view';
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { yaml } from '@codemirror/lang-yaml';
import {
  syntaxHighlighting, defaultHighlightStyle, bracketMatching, indentOnInput, foldGutter, foldKeymap,
} from '@codemirror/language';
import { searchKeymap, highlightSelectionMatches } from '@codemirror/search';
import { lintGutter, setDiagnostics } from '@codemirror/lint';
import { autocompletion, completionKeymap, closeBrackets, closeBracketsKeymap } from '@codemirror/autocomplete';

/// The compiler module: its wasm-bindgen glue at `js`, its wasm at `wasm` (both content-hashed). Loaded once.
let core = null;
function loadCore(js, wasm) {
  core = core || import(js).then(m => m.default({ module_or_path: wasm }).then(() => m));
  return core;
}

/// Candidates from the compiler module's `complete(text, pos)`: `{from, options: [name]}` or null (spec's schema).
function completions(compiler) {
  return ctx => {
    if (!compiler) return null;
    const r = JSON.parse(compiler.complete(ctx.state.doc.toString(), ctx.pos));
    if (!r || !r.options || r.options.length === 0) return null;
    if (r.from === ctx.pos && !ctx.explicit) return null;
    return { from: r.from, options: r.options.map(label => ({ label, type: 'property' })) };
  };
}

function mount(parent, text, onChange, compiler) {
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: text,
      extensions: [
        lineNumbers(), foldGutter(), history(), drawSelection(), indentOnInput(), bracketMatching(),
        closeBrackets(), highlightActiveLine(), highlightActiveLineGutter(), highlightSelectionMatches(),
        syntaxHighlighting(defaultHighlightStyle, { fallback: true }), yaml(), lintGutter(),
        autocompletion({ override: [completions(compiler)] }),
        keymap.of([
          ...closeBracketsKeymap, ...defaultKeymap, ...searchKeymap, ...historyKeymap, ...foldKeymap,
          ...completionKeymap, indentWithTab,
        ]),
        EditorView.updateListener.of(u => { if (u.docChanged) onChange(u.state.doc.toString()); }),
      ],
    }),
  });
  const position = (line, column) => {
    const doc = view.state.doc;
    const l = doc.line(Math.min(Math.max(line || 1, 1), doc.lines));
    return { l, at: Math.min(l.from + Math.max((column || 1) - 1, 0), l.to) };
  };
  return {
    text: () => view.state.doc.toString(),
    setText: t => view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: t } }),
    /// `[{line, column, severity: "error"|"warning", message, code}]`, 1-based; the token at the position
    /// (or the rest of the line) is underlined.
    setDiagnostics: list => {
      const doc = view.state.doc;
      const ds = list.map(d => {
        const { l, at } = position(d.line, d.column);
        let to = at;
        while (to < l.to && !/[\s,:\]}]/.test(doc.sliceString(to, to + 1))) to++;
        if (to === at) to = l.to;
        return { from: at, to, severity: d.severity, message: d.message, source: d.code };
      });
      view.dispatch(setDiagnostics(view.state, ds));
    },
    jumpTo: (line, column) => {
      const { at } = position(line, column);
      view.dispatch({ selection: { anchor: at }, scrollIntoView: true });
      view.focus();
    },
  };
}

window.MyelinEditor = { mount, loadCore };
