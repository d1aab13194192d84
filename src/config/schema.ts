import { z } from 'zod';

/**
 * The one configuration schema. Parsed once at start (config/load.ts); every
 * module receives the parsed object, there is no global getConfig(). It fails
 * closed: no default secrets, cross-field rules here, and a bad value names
 * its key and the reason.
 */
const port = z.number().int().min(1).max(65535);

const tlsSchema = z
  .strictObject({
    /** PEM certificate chain; when absent a self-signed one is generated in <dataDir>/tls. */
    cert: z.string().min(1).optional(),
    key: z.string().min(1).optional(),
    /** CA bundle for mutual TLS between Custos processes; clients must present a certificate it signed. */
    clientCa: z.string().min(1).optional(),
  })
  .refine((t) => Boolean(t.cert) === Boolean(t.key), {
    message: 'tls.cert and tls.key must be given together',
  });

const securityTxtSchema = z.strictObject({
  contact: z.array(z.string().regex(/^(mailto:|https:\/\/|tel:)/, 'must be a mailto:, https:// or tel: URI')).min(1),
  expires: z.iso.datetime({ offset: true }).optional(),
  policy: z.string().regex(/^https:\/\//, 'must be an https:// URL').optional(),
  preferredLanguages: z.string().optional(),
});

/**
 * A secret read from the configuration. JSON.stringify, String() and
 * util.inspect show `[redacted]` (so `custos config check` and logs never
 * print it); `reveal()` returns the value.
 */
export class ConfigSecret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toJSON(): string {
    return '[redacted]';
  }
  toString(): string {
    return '[redacted]';
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return '[redacted]';
  }
}

/** Audit forwarders (audit/forward): syslog over TLS, HTTPS JSON batches, NATS JetStream. */
const filePath = z.string().min(1);
const printable = (max: number) => z.string().regex(new RegExp(`^[\\x21-\\x7e]{1,${max}}$`), `printable ASCII without spaces, at most ${max}`);
const forwarderBase = {
  /** Unique: the durable cursor's key and the metrics label. */
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lower-case letters, digits, "-" and "_", at most 63'),
  /** Most entries per send. */
  batchSize: z.number().int().min(1).max(10_000).default(500),
  cert: filePath.optional(),
  key: filePath.optional(),
};
const certWithKey = (f: { cert?: string; key?: string }) => Boolean(f.cert) === Boolean(f.key);
const certWithKeyIssue = { message: 'cert and key must be given together', path: ['cert'] };
const syslogForwarder = z
  .strictObject({
    type: z.literal('syslog'),
    ...forwarderBase,
    host: z.string().min(1),
    port: port.default(6514),
    /** PEM CA file the collector's certificate must chain to: the collector is always verified. */
    ca: filePath,
    serverName: z.string().min(1).optional(),
    /** RFC 5424 HOSTNAME (default: this machine's name). */
    hostname: printable(255).optional(),
    appName: printable(48).default('custos'),
    /** RFC 5424 facility; 13 is "log audit". */
    facility: z.number().int().min(0).max(23).default(13),
    sdId: z.string().regex(/^[A-Za-z0-9._-]{1,32}@[0-9]+(\.[0-9]+)*$/, 'name@<private enterprise number>').default('custos@32473'),
    /** How long the connection must stay up after a flushed batch before it counts as delivered. */
    settleMs: z.number().int().min(0).max(60_000).default(250),
    connectTimeoutMs: z.number().int().min(100).max(300_000).default(10_000),
  })
  .refine(certWithKey, certWithKeyIssue);
const httpsForwarder = z
  .strictObject({
    type: z.literal('https'),
    ...forwarderBase,
    url: z.url({ protocol: /^https$/, error: 'must be an https:// URL' }),
    /** HMAC-SHA256 key for Custos-Signature; or `secretFile`. No default. */
    secret: z.string().min(32, 'at least 32 characters').transform((s) => new ConfigSecret(s)).optional(),
    secretFile: filePath.optional(),
    ca: filePath.optional(),
    timeoutMs: z.number().int().min(100).max(300_000).default(10_000),
    format: z.enum(['ocsf', 'ecs']).default('ocsf'),
    maxBodyBytes: z.number().int().min(64 * 1024).max(64 * 1024 * 1024).default(1024 * 1024),
  })
  .refine((f) => (f.secret === undefined) !== (f.secretFile === undefined), { message: 'give exactly one of secret and secretFile', path: ['secret'] })
  .refine(certWithKey, certWithKeyIssue);
const natsForwarder = z
  .strictObject({
    type: z.literal('nats'),
    ...forwarderBase,
    servers: z.array(z.string().min(1)).min(1),
    stream: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, "-" and "_"').default('CUSTOS_AUDIT'),
    subjectPrefix: z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'dot-separated tokens without wildcards').default('custos.audit'),
    ca: filePath.optional(),
    credsFile: filePath.optional(),
    /** TLS is required unless this is set (e.g. a NATS on the loopback interface). */
    insecurePlaintext: z.boolean().default(false),
    timeoutMs: z.number().int().min(100).max(300_000).default(10_000),
  })
  .refine((f) => !(f.insecurePlaintext && (f.ca || f.cert)), { message: 'insecurePlaintext cannot be combined with ca or cert', path: ['insecurePlaintext'] })
  .refine(certWithKey, certWithKeyIssue);
/** Off-system copies of the audit log (audit/forward); names are unique. */
const auditForwarders = z
  .array(z.discriminatedUnion('type', [syslogForwarder, httpsForwarder, natsForwarder]))
  .default([])
  .refine((list) => new Set(list.map((f) => f.name)).size === list.length, 'forwarder names must be unique');

/** The audit log (audit/README.md): retention, sequencer cadence, scheduled verification. */
const auditSchema = z.strictObject({
  /** Days an entry stays in the database before it may leave through an archive bundle (M15): at least 365, never lowered. */
  retentionDays: z.number().int().min(365, 'must be at least 365 (entries are kept at least one year)').max(36_500).default(365),
  sequencer: z
    .strictObject({
      /** Run the sequencer in this process (off: another process sequences, or tests drive tick()). */
      enabled: z.boolean().default(true),
      /** How often an idle sequencer looks at the outbox. */
      pollMs: z.number().int().min(10).max(500).default(100),
      /** Most outbox rows integrated per transaction. */
      batchSize: z.number().int().min(1).max(5000).default(1000),
      /** Least time between two checkpoints while entries arrive (at most 1 s: the log's promise). */
      checkpointIntervalMs: z.number().int().min(0).max(1000).default(500),
    })
    .prefault({}),
  /** Hours between two in-process verifications of the whole log; 0 turns them off. */
  verifyIntervalHours: z.number().int().min(0).max(24 * 7).default(24),
  /** Off-system copies of the log: syslog over TLS, HTTPS JSON batches, NATS JetStream (audit/forward). */
  forwarders: auditForwarders,
});

/** External events into the audit log (src/siem/ingest/README.md): the RFC 5424 syslog-over-TLS listener. */
const siemIngestSchema = z.strictObject({
  syslog: z
    .strictObject({
      enabled: z.boolean().default(false),
      host: z.string().min(1).default('127.0.0.1'),
      /** 6514 is RFC 5425's port; 0 picks a free one (tests). */
      port: z.number().int().min(0).max(65535).default(6514),
      /** PEM files; without them the HTTPS server's certificate (configured or self-signed) is used. */
      cert: filePath.optional(),
      key: filePath.optional(),
      /** PEM CA bundle: when set, senders must present a certificate it signed (mutual TLS). */
      clientCa: filePath.optional(),
      /** The tenant the events belong to; absent: platform events (the operator's own firewalls and VPNs). */
      tenantId: z.uuid().optional(),
      /** With clientCa: senders whose certificate's common name is listed write into that tenant instead. */
      clients: z.array(z.strictObject({ commonName: z.string().min(1).max(64), tenantId: z.uuid() })).default([]),
      /** Largest message; RFC 5425 receivers must take 2048 octets and should take 8192. */
      maxMessageBytes: z.number().int().min(2048).max(64 * 1024).default(16 * 1024),
      maxConnections: z.number().int().min(1).max(10_000).default(64),
      /** A connection silent this long is closed. */
      idleTimeoutMs: z.number().int().min(1000).max(3_600_000).default(120_000),
    })
    .refine(certWithKey, certWithKeyIssue)
    .refine((s) => s.clients.length === 0 || Boolean(s.clientCa), { message: 'clients needs clientCa (tenants by client certificate)', path: ['clients'] })
    .prefault({}),
});

/** The SIEM runtime (src/siem/README.md): rules, alert suppression, notification channels. */
const severityLevel = z.enum(['informational', 'low', 'medium', 'high', 'critical']);
const envName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name');
const siemSchema = z.strictObject({
  /** External events: POST /api/v1/events and the syslog listener (src/siem/ingest). */
  ingest: siemIngestSchema.prefault({}),
  /** Run the SIEM worker in this process (on PostgreSQL one process at a time holds its lease). */
  enabled: z.boolean().default(true),
  /** Evaluate the built-in rule pack (rules/sigma in the package). */
  builtinRules: z.boolean().default(true),
  /** Further Sigma rule files or directories of *.yml files, evaluated beside the pack. */
  rulePaths: z.array(filePath).default([]),
  /** A pipeline file (field mapping) replacing the pack's rules/sigma/pipeline.yml. */
  pipeline: filePath.optional(),
  /** Same rule and group within this window: the open alert's count grows instead of a new alert (per rule overridable). */
  suppressionSeconds: z.number().int().min(0).max(30 * 86_400).default(3600),
  /** Idle pause of the worker; an append by the sequencer wakes it at once. */
  pollMs: z.number().int().min(10).max(60_000).default(1000),
  /** Most log entries evaluated per transaction. */
  batchSize: z.number().int().min(1).max(10_000).default(1000),
  /** The worker lease (PostgreSQL: one process evaluates; another takes over after this). */
  leaseSeconds: z.number().int().min(2).max(600).default(15),
  notifications: z
    .strictObject({
      /** Attempts per notification before it is given up (audited, high severity). */
      maxAttempts: z.number().int().min(1).max(1000).default(20),
      /** Exponential backoff between attempts, with jitter. */
      backoffBaseMs: z.number().int().min(10).max(600_000).default(1000),
      backoffMaxMs: z.number().int().min(10).max(86_400_000).default(300_000),
      webhook: z
        .strictObject({
          url: z.url({ protocol: /^https?$/, error: 'must be an http(s):// URL' }),
          /** Environment variable holding the HMAC-SHA256 key (at least 32 bytes); never in the file. */
          secretEnv: envName,
          /** Plain http:// is refused unless this is set (a receiver on the loopback interface). */
          allowHttp: z.boolean().default(false),
          /** PEM CA file for the receiver (default: the system's). */
          ca: filePath.optional(),
          minSeverity: severityLevel.default('medium'),
          timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
        })
        .refine((w) => w.allowHttp || w.url.startsWith('https://'), { message: 'http:// needs allowHttp: true', path: ['url'] })
        .optional(),
      email: z
        .strictObject({
          host: z.string().min(1),
          port: port.default(587),
          /** Implicit TLS (port 465); otherwise STARTTLS. */
          secure: z.boolean().default(false),
          /** Refuse to send unless STARTTLS succeeds (ignored with `secure`). */
          requireTls: z.boolean().default(true),
          ca: filePath.optional(),
          userEnv: envName.optional(),
          passwordEnv: envName.optional(),
          from: z.email(),
          to: z.array(z.email()).min(1),
          minSeverity: severityLevel.default('high'),
          timeoutMs: z.number().int().min(100).max(120_000).default(15_000),
        })
        .refine((e) => Boolean(e.userEnv) === Boolean(e.passwordEnv), { message: 'userEnv and passwordEnv go together', path: ['userEnv'] })
        .optional(),
      syslog: z
        .strictObject({
          host: z.string().min(1),
          port: port.default(6514),
          /** PEM CA file the collector's certificate must chain to. */
          ca: filePath,
          serverName: z.string().min(1).optional(),
          hostname: printable(255).optional(),
          appName: printable(48).default('custos-siem'),
          /** RFC 5424 facility; 4 is "security/authorization". */
          facility: z.number().int().min(0).max(23).default(4),
          minSeverity: severityLevel.default('low'),
        })
        .optional(),
    })
    .prefault({}),
});

/** Root key provider and key cache (src/keys). Secrets (passphrase, HSM PIN) never come from here. */
const keysSchema = z
  .strictObject({
    provider: z.enum(['local', 'pkcs11', 'aws-kms']).default('local'),
    local: z
      .strictObject({
        /** Keyring directory; default <dataDir>/keyring. */
        dir: z.string().min(1).optional(),
        /** 0600 key file when no passphrase seals the keyring; default <dir>/root.key. */
        keyFile: z.string().min(1).optional(),
      })
      .prefault({}),
    pkcs11: z
      .strictObject({
        library: z.string().min(1).optional(),
        tokenLabel: z.string().min(1).max(32).optional(),
        /** Environment variable holding the user PIN (default CUSTOS_HSM_PIN unless pinFile is set). */
        pinEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name').optional(),
        /** 0600 file holding the user PIN. */
        pinFile: z.string().min(1).optional(),
        keyLabelPrefix: z.string().regex(/^[A-Za-z0-9._-]{1,24}$/, 'letters, digits, ".", "_" and "-" only').optional(),
      })
      .refine((p) => !(p.pinEnv && p.pinFile), { message: 'give pinEnv or pinFile, not both' })
      .prefault({}),
    awsKms: z
      .strictObject({
        keyId: z.string().min(1).optional(),
        region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as eu-central-1').optional(),
        endpoint: z.string().regex(/^https?:\/\//, 'must be an http(s):// URL').optional(),
      })
      .prefault({}),
    cache: z
      .strictObject({
        /** Most unwrapped keys held in memory. */
        maxEntries: z.number().int().min(1).max(1_000_000).default(10_000),
        /** Longest an unwrapped key stays in memory. */
        ttlSeconds: z.number().int().min(1).max(86_400).default(300),
      })
      .prefault({}),
  })
  .refine((k) => k.provider !== 'pkcs11' || Boolean(k.pkcs11.tokenLabel), {
    message: 'provider pkcs11 needs keys.pkcs11.tokenLabel',
    path: ['pkcs11', 'tokenLabel'],
  })
  .refine((k) => k.provider !== 'aws-kms' || (Boolean(k.awsKms.keyId) && Boolean(k.awsKms.region)), {
    message: 'provider aws-kms needs keys.awsKms.keyId and keys.awsKms.region',
    path: ['awsKms'],
  });

/** Identity (src/identity): password policy, sessions, lockout, MFA, invitations, API keys. */
const identitySchema = z
  .strictObject({
    password: z
      .strictObject({
        /** NIST SP 800-63B: at least 8; Custos defaults to 12. */
        minLength: z.number().int().min(8).max(64).default(12),
        /** At least 64 characters are always accepted. */
        maxLength: z.number().int().min(64).max(1024).default(256),
        /** Least zxcvbn score (0–4). */
        minScore: z.number().int().min(3, 'must be at least 3').max(4).default(3),
      })
      .prefault({}),
    session: z
      .strictObject({
        idleMinutes: z.number().int().min(1).max(24 * 60).default(30),
        absoluteHours: z.number().int().min(1).max(24 * 30).default(12),
        /** Minutes to finish the second factor after the password. */
        mfaPendingMinutes: z.number().int().min(1).max(60).default(5),
      })
      .prefault({}),
    /**
     * A resolved session or API key is reused for at most this many ms (0: never), so bearer
     * requests skip the session/account/grant reads; in-process revocation is immediate,
     * revocation by another process takes effect within this bound.
     */
    principalCacheMs: z.number().int().min(0).max(2000).default(1000),
    lockout: z
      .strictObject({
        /** Failed attempts per account (and per account's MFA) before a lock. */
        accountMax: z.number().int().min(1).max(100).default(5),
        /** Failed attempts per source address before a lock. */
        ipMax: z.number().int().min(1).max(100_000).default(100),
        windowMinutes: z.number().int().min(1).max(24 * 60).default(15),
        /** First lock; each further lock doubles it up to maxLockMinutes. */
        baseLockSeconds: z.number().int().min(1).max(3600).default(60),
        maxLockMinutes: z.number().int().min(1).max(24 * 60).default(60),
      })
      .prefault({}),
    mfa: z
      .strictObject({
        /** Sensitive actions need a second factor within this many minutes (step-up). */
        stepUpMinutes: z.number().int().min(1).max(24 * 60).default(10),
        /** Whether tenant accounts must use MFA (platform accounts always must). */
        tenantRequired: z.boolean().default(false),
        issuer: z.string().min(1).max(64).default('Custos'),
        /** Passkeys (WebAuthn): the relying party id (the console's host name) and the origins the console is served from. */
        webauthn: z
          .strictObject({
            rpId: z.string().regex(/^[a-z0-9.-]{1,253}$/, 'a host name').default('localhost'),
            rpName: z.string().min(1).max(64).default('Custos'),
            origins: z.array(z.string().regex(/^https:\/\/[^/]+$/, 'https://host[:port], no path')).min(1).default(['https://localhost:8443']),
          })
          .prefault({}),
      })
      .prefault({}),
    invitationTtlHours: z.number().int().min(1).max(24 * 30).default(72),
    apiKeys: z
      .strictObject({
        /** Keys older than this are flagged for rotation. */
        maxAgeDays: z.number().int().min(1).max(3650).default(90),
        /** How long the old key keeps working after a rotation. */
        rotationOverlapHours: z.number().int().min(0).max(24 * 30).default(24),
      })
      .prefault({}),
  })
  .prefault({});

export const configSchema = z.strictObject({
  /** Name of this deployment; the audit log's checkpoint origin. */
  deploymentName: z.string().regex(/^[a-zA-Z0-9.\-/]{1,128}$/, 'letters, digits, ".", "-" and "/" only').default('custos.local/audit'),
  dataDir: z.string().min(1).default('./custos-data'),
  host: z.string().min(1).default('127.0.0.1'),
  /** 0 picks a free port (printed at start); for tests and side-by-side runs. */
  httpsPort: z.number().int().min(0).max(65535).default(8443),
  /** Optional plain-HTTP port that only redirects to HTTPS. */
  httpRedirectPort: port.optional(),
  /** postgres://… selects PostgreSQL; absent means SQLite in the data directory. */
  databaseUrl: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  database: z
    .strictObject({
      /** PostgreSQL role the server switches to on every connection (non-owner, NOBYPASSRLS). */
      appRole: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier').default('custos_app'),
      poolSize: z.number().int().min(1).max(200).default(10),
      /** Most units of work committed together in one SQLite transaction. */
      groupCommitMax: z.number().int().min(1).max(10_000).default(256),
    })
    .prefault({}),
  tls: tlsSchema.prefault({}),
  rateLimit: z
    .strictObject({
      enabled: z.boolean().default(true),
      max: z.number().int().min(1).default(600),
      timeWindowMs: z.number().int().min(1000).default(60_000),
    })
    .prefault({}),
  bodyLimitBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  securityTxt: securityTxtSchema.prefault({ contact: ['mailto:security@example.invalid'] }),
  audit: auditSchema.prefault({}),
  keys: keysSchema.prefault({}),
  bootstrap: z
    .strictObject({
      /** Lifetime of the one-time setup token printed by `custos init` (creates the first platform admin). */
      tokenTtlHours: z.number().int().min(1).max(24 * 30).default(72),
    })
    .prefault({}),
  identity: identitySchema,
  siem: siemSchema.prefault({}),
});

export type Config = z.infer<typeof configSchema>;
/** The raw input shape (what custos.yaml may contain). */
export type ConfigInput = z.input<typeof configSchema>;
