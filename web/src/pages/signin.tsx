import { useState } from 'preact/hooks';
import { signIn } from '../api';
import { ErrorBox } from '../components';

/** Exchanges the API token for an HttpOnly session cookie; the token is not kept by the page. */
export function SignInForm({ onDone, note }: { onDone?: () => void; note?: string }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<unknown>();
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    try {
      await signIn(token);
      setToken('');
      onDone?.();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form class="signin" onSubmit={(e) => void submit(e)}>
      {note && <p class="note">{note}</p>}
      <label>
        API token
        <input name="token" type="password" autocomplete="current-password" value={token} onInput={(e) => setToken(e.currentTarget.value)} />
      </label>
      <button type="submit" class="primary">
        Sign in
      </button>
      <ErrorBox error={error} />
    </form>
  );
}

export function SignInPage() {
  const [done, setDone] = useState(false);
  return (
    <section>
      <h1>Sign in</h1>
      {done ? <p class="ok">Signed in.</p> : <SignInForm onDone={() => setDone(true)} />}
    </section>
  );
}
