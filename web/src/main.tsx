import { render } from 'preact';
import { lazy, Suspense } from 'preact/compat';
import { useEffect, useState } from 'preact/hooks';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { loadSession, onSession, sessionInfo, signOut } from './api';
import { AlertsPage } from './pages/alerts';
import { RulesPage } from './pages/rules';
import { SignInPage } from './pages/signin';
import { SilenceForm, SilencesPage } from './pages/silences';
import { StatusPage } from './pages/status';
import { TargetsPage } from './pages/targets';
import { useLocation } from './router';

// CodeMirror and uPlot load only when the Graph page opens.
const GraphPage = lazy(() => import('./pages/graph').then((m) => ({ default: m.GraphPage })));

const NAV: Array<[string, string]> = [
  ['/alerts', 'Alerts'],
  ['/silences', 'Silences'],
  ['/targets', 'Targets'],
  ['/rules', 'Rules'],
  ['/graph', 'Graph'],
  ['/status', 'Status'],
];

function Page({ path, params }: { path: string; params: URLSearchParams }) {
  if (path === '/' || path === '/alerts') return <AlertsPage />;
  if (path === '/silences') return <SilencesPage />;
  // /-/silence is the link Slack and email notifications carry.
  if (path === '/silences/new' || path === '/-/silence') return <SilenceForm key={params.toString()} filter={params.get('filter') ?? undefined} />;
  if (path.startsWith('/silences/')) return <SilenceForm key={path} id={decodeURIComponent(path.slice('/silences/'.length))} />;
  if (path === '/targets') return <TargetsPage />;
  if (path === '/rules') return <RulesPage />;
  if (path === '/graph')
    return (
      <Suspense fallback={<p>Loading…</p>}>
        <GraphPage params={params} />
      </Suspense>
    );
  if (path === '/status') return <StatusPage />;
  if (path === '/signin') return <SignInPage />;
  return <p>No page here.</p>;
}

function App() {
  const { path, params } = useLocation();
  const [session, setSession] = useState(sessionInfo());
  const [ready, setReady] = useState(false);
  useEffect(() => {
    const off = onSession(setSession);
    loadSession().finally(() => setReady(true));
    return off;
  }, []);
  const section = path === '/' ? '/alerts' : path === '/-/silence' ? '/silences' : `/${path.split('/')[1]}`;
  return (
    <>
      <header>
        <a class="brand" href="/alerts" data-nav>
          Vigil
        </a>
        <nav>
          {NAV.map(([href, label]) => (
            <a key={href} href={href} data-nav class={section === href ? 'on' : ''}>
              {label}
            </a>
          ))}
        </nav>
        <span class="session">
          {session.authRequired &&
            (session.signedIn ? (
              <button class="link" onClick={() => void signOut()}>
                sign out
              </button>
            ) : (
              <a href="/signin" data-nav>
                sign in
              </a>
            ))}
        </span>
      </header>
      <main>{ready ? <Page path={path} params={params} /> : <p>Loading…</p>}</main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
