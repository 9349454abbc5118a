import { useEffect, useRef, useState, type ReactNode } from 'react';
import { Link } from 'react-router-dom';
import { SignOutDialog } from '../features/auth/SignOutDialog';
import { useUser } from '../features/auth/session';
import { Avatar } from './common';
import { toggleTheme, useTheme } from './theme';

export function Logo() {
  return (
    <span className="logo">
      <svg viewBox="0 0 32 32" width="22" height="22" aria-hidden="true">
        <rect width="32" height="32" rx="7" fill="var(--accent)" />
        <path d="M12 10l-6 6 6 6M20 10l6 6-6 6" fill="none" stroke="#fff" strokeWidth="2.6" strokeLinecap="round" strokeLinejoin="round" />
      </svg>
      <span>opencoder</span>
    </span>
  );
}

export function ThemeToggle() {
  const theme = useTheme();
  return (
    <button
      className="btn-icon"
      onClick={toggleTheme}
      aria-label={theme === 'dark' ? 'Switch to light theme' : 'Switch to dark theme'}
      title={theme === 'dark' ? 'Light theme' : 'Dark theme'}
    >
      {theme === 'dark' ? '☀' : '☾'}
    </button>
  );
}

function UserMenu() {
  const user = useUser();
  const [open, setOpen] = useState(false);
  const [signingOut, setSigningOut] = useState(false);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const onDown = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) setOpen(false);
    };
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && setOpen(false);
    document.addEventListener('mousedown', onDown);
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('mousedown', onDown);
      document.removeEventListener('keydown', onKey);
    };
  }, [open]);
  if (!user) return null;
  return (
    <div className="menu-wrap" ref={ref}>
      <button className="btn btn-ghost user-button" aria-haspopup="menu" aria-expanded={open} onClick={() => setOpen(!open)}>
        <Avatar name={user.name} userId={user.id} size={24} />
        <span className="user-name">{user.name}</span>
      </button>
      {open && (
        <div className="menu card" role="menu">
          <Link role="menuitem" to="/dashboard" onClick={() => setOpen(false)}>
            Dashboard
          </Link>
          <Link role="menuitem" to="/settings" onClick={() => setOpen(false)}>
            Settings
          </Link>
          {user.isAdmin && (
            <Link role="menuitem" to="/admin" onClick={() => setOpen(false)}>
              Admin
            </Link>
          )}
          <button
            role="menuitem"
            onClick={() => {
              setOpen(false);
              setSigningOut(true);
            }}
          >
            Sign out
          </button>
        </div>
      )}
      {signingOut && <SignOutDialog onClose={() => setSigningOut(false)} />}
    </div>
  );
}

export function AppHeader(props: { children?: ReactNode }) {
  const user = useUser();
  return (
    <header className="app-header">
      <Link to={user ? '/dashboard' : '/'} className="logo-link" aria-label="opencoder home">
        <Logo />
      </Link>
      <div className="header-middle">{props.children}</div>
      <div className="row">
        <ThemeToggle />
        {user ? <UserMenu /> : null}
      </div>
    </header>
  );
}
