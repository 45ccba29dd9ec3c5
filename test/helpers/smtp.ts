/**
 * A real SMTP server on loopback (smtp-server) whose messages are parsed with
 * mailparser. Optional STARTTLS (smtp-server's built-in self-signed
 * certificate) and auth; can refuse messages to simulate an outage.
 */
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  envelope: { from: string; to: string[] };
  parsed: ParsedMail;
  /** The username the client authenticated with, if any. */
  user?: string;
  secure: boolean;
}

export interface SmtpStandIn {
  host: string;
  port: number;
  smarthost: string;
  messages: ReceivedMail[];
  /** While true, every message is answered with a temporary failure (451). */
  failing: boolean;
  close(): Promise<void>;
}

export async function startSmtpStandIn(o: { auth?: { user: string; pass: string }; tls?: boolean } = {}): Promise<SmtpStandIn> {
  const s: SmtpStandIn = { host: '127.0.0.1', port: 0, smarthost: '', messages: [], failing: false, close: async () => undefined };
  const server = new SMTPServer({
    secure: false,
    disabledCommands: [...(o.tls ? [] : ['STARTTLS']), ...(o.auth ? [] : ['AUTH'])],
    authOptional: !o.auth,
    allowInsecureAuth: !o.tls,
    logger: false,
    onAuth(auth, _session, cb) {
      if (o.auth && auth.username === o.auth.user && auth.password === o.auth.pass) cb(null, { user: auth.username });
      else cb(new Error('Invalid username or password'));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (s.failing) {
          const err = new Error('Temporary failure') as Error & { responseCode: number };
          err.responseCode = 451;
          cb(err);
          return;
        }
        simpleParser(Buffer.concat(chunks)).then(
          (parsed) => {
            s.messages.push({
              envelope: {
                from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
                to: session.envelope.rcptTo.map((r) => r.address),
              },
              parsed,
              user: session.user as string | undefined,
              secure: session.secure,
            });
            cb();
          },
          (err: Error) => cb(err),
        );
      });
    },
  });
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(0, '127.0.0.1', () => res());
  });
  server.on('error', () => undefined);
  s.port = (server.server.address() as { port: number }).port;
  s.smarthost = `127.0.0.1:${s.port}`;
  s.close = () => new Promise<void>((res) => server.close(() => res()));
  return s;
}
