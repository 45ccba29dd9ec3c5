/** The PromQL editor: Prometheus's own CodeMirror language support, completing and linting against Vigil's API. */
import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap, completionStatus } from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { bracketMatching, defaultHighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { lintKeymap } from '@codemirror/lint';
import { EditorState, Prec } from '@codemirror/state';
import { EditorView, keymap, placeholder } from '@codemirror/view';
import { PromQLExtension } from '@prometheus-io/codemirror-promql';

export interface EditorHandle {
  destroy(): void;
}

export function createEditor(parent: HTMLElement, doc: string, o: { onChange(expr: string): void; onRun(): void }): EditorHandle {
  const promql = new PromQLExtension().setComplete({ remote: { url: location.origin } });
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc,
      extensions: [
        history(),
        bracketMatching(),
        closeBrackets(),
        autocompletion(),
        syntaxHighlighting(defaultHighlightStyle),
        placeholder('Expression (press Shift+Enter for newlines)'),
        promql.asExtension(),
        Prec.highest(
          keymap.of([
            {
              key: 'Enter',
              run: (v) => {
                // With the completion list open, Enter picks the completion.
                if (completionStatus(v.state) === 'active') return false;
                o.onRun();
                return true;
              },
            },
          ]),
        ),
        keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, ...completionKeymap, ...lintKeymap]),
        EditorView.lineWrapping,
        // The page's CSP admits <style> elements only with the nonce of this response.
        EditorView.cspNonce.of((document.querySelector('link[nonce]') as HTMLLinkElement | null)?.nonce ?? ''),
        EditorView.updateListener.of((u) => {
          if (u.docChanged) o.onChange(u.state.doc.toString());
        }),
      ],
    }),
  });
  return { destroy: () => view.destroy() };
}
