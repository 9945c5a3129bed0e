// The studio shell: navigation, the current screen, and what the host reports about itself (`app.info`).
import { useEffect, useState } from 'react';
import type { AppInfo } from '../shared/protocol/studio-contract';
import type { StudioConnection } from './api';
import { PlaceholderScreen, screenFromHash, screens, type ScreenInfo } from './screens';

type InfoState =
  { status: 'loading' } | { status: 'ready'; info: AppInfo } | { status: 'failed'; message: string };

/** Follows `#/<screen>` so reloads and the back button keep the screen (works over file, custom and http URLs). */
function useHashScreen(): ScreenInfo {
  const [screen, setScreen] = useState(() => screenFromHash(window.location.hash));
  useEffect(() => {
    const onChange = (): void => setScreen(screenFromHash(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return screen;
}

function useAppInfo(connection: StudioConnection): InfoState {
  const [state, setState] = useState<InfoState>({ status: 'loading' });
  useEffect(() => {
    if (connection.api === null) return;
    let live = true;
    connection.api.appInfo().then(
      (info) => live && setState({ status: 'ready', info }),
      (err: unknown) =>
        live && setState({ status: 'failed', message: err instanceof Error ? err.message : String(err) }),
    );
    return () => {
      live = false;
    };
  }, [connection]);
  return state;
}

function VersionPanel({ state }: { state: InfoState }) {
  if (state.status === 'loading') return <p className="versions muted">Connecting…</p>;
  if (state.status === 'failed') {
    return (
      <p className="versions error" role="alert">
        Studio unavailable: {state.message}
      </p>
    );
  }
  const { info } = state;
  const host = info.platform === 'electron' ? `Electron ${info.electron ?? ''}`.trim() : 'Web (browser)';
  return (
    <dl className="versions">
      <dt>App</dt>
      <dd>v{info.appVersion}</dd>
      <dt>Engine</dt>
      <dd>v{info.engineVersion}</dd>
      <dt>Host</dt>
      <dd>{host}</dd>
    </dl>
  );
}

function MissingToken() {
  return (
    <section className="screen">
      <header className="screen-header">
        <h1>Open the studio from its launch link</h1>
        <p className="screen-summary">
          This page needs the one-time token that <code>odsora studio --web</code> prints when it starts. Open
          the full URL it printed (it ends in <code>?token=…</code>, or <code>?mirror=…</code> for the
          read-only mirror).
        </p>
      </header>
    </section>
  );
}

export function App({ connection }: { connection: StudioConnection }) {
  const current = useHashScreen();
  // Without a token there is no screen to show, so no nav item is current.
  const activeId = connection.api === null ? null : current.id;
  const info = useAppInfo(connection);
  return (
    <div className="shell">
      <aside className="sidebar">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true">
            ◆
          </span>
          <span>
            <strong>On-device Sora</strong>
            <small>Studio</small>
          </span>
        </div>
        <nav aria-label="Screens">
          <ul className="nav">
            {screens.map((s) => (
              <li key={s.id}>
                <a
                  href={`#/${s.id}`}
                  className={s.id === activeId ? 'active' : undefined}
                  aria-current={s.id === activeId ? 'page' : undefined}
                >
                  {s.title}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        {connection.mode === 'web' && connection.role === 'mirror' && (
          <p className="versions muted">Read-only mirror</p>
        )}
        {connection.api !== null && <VersionPanel state={info} />}
      </aside>
      <main className="content">
        {connection.api === null ? <MissingToken /> : <PlaceholderScreen screen={current} />}
      </main>
    </div>
  );
}
