/**
 * deploy/ cannot be started here (no Docker engine, no Kubernetes), so this checks what can be
 * checked without one: every YAML and XML file parses, and the files agree with each other and
 * with the code: the same image tags, the same ports, env names that Gavel really reads, the
 * same cluster, shard, replica and keeper names in the ClickHouse XML, the compose files and the
 * DDL, the same body-size limit in the proxies and in Gavel.
 */
import { describe, expect, it } from "vitest";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml, parseAllDocuments } from "yaml";
import { allSchemaStatements } from "../../collector/src/store/migrations.js";
import { child, children, parseXml, walk, type XmlElement } from "./xml.js";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const DEPLOY = join(REPO, "deploy");
const read = (p: string) => readFileSync(join(REPO, p), "utf8");

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [relative(REPO, p)];
  });
}
const deployFiles = filesUnder(DEPLOY);
const yamlFiles = deployFiles.filter((f) => /\.ya?ml$/.test(f));
const xmlFiles = deployFiles.filter((f) => f.endsWith(".xml"));

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const yaml = (p: string): Obj => parseYaml(read(p), { merge: true }) as Obj;
const yamlDocs = (p: string): Obj[] => parseAllDocuments(read(p), { merge: true }).map((d) => d.toJS() as Obj);
const xml = (p: string) => parseXml(read(p));

// ---------------------------------------------------------------- compose (with the cluster overlay merged)

interface Service {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  hostname?: string;
  networks?: Record<string, { aliases?: string[] }>;
  depends_on?: Record<string, { condition: string }>;
  deploy?: { replicas?: number };
  profiles?: string[];
}
const compose = yaml("deploy/compose.yaml") as { services: Record<string, Service> };
const overlay = yaml("deploy/compose.cluster.yaml") as { services: Record<string, Service> };

/** Compose's merge rules for the fields used here: maps merge, volumes merge by target, the rest is replaced. */
function mergeService(base: Service | undefined, over: Service): Service {
  if (!base) return over;
  const target = (v: string) => v.split(":")[1];
  const volumes = [...(base.volumes ?? []).filter((v) => !(over.volumes ?? []).some((o) => target(o) === target(v))), ...(over.volumes ?? [])];
  return {
    ...base,
    ...over,
    environment: { ...base.environment, ...over.environment },
    depends_on: { ...base.depends_on, ...over.depends_on },
    networks: { ...base.networks, ...over.networks },
    volumes,
  };
}
const clusterServices: Record<string, Service> = { ...compose.services };
for (const [name, s] of Object.entries(overlay.services)) clusterServices[name] = mergeService(compose.services[name], s);

const gavelServices = (services: Record<string, Service>) => Object.entries(services).filter(([, s]) => s.image?.startsWith("gavel/gavel:"));
/** Names a service answers to on the compose network. */
const dnsNames = (name: string, s: Service) => [name, ...Object.values(s.networks ?? {}).flatMap((n) => n.aliases ?? [])];

// ---------------------------------------------------------------- kubernetes

const k8sKustomization = yaml("deploy/k8s/kustomization.yaml");
const k8sDocs = yamlFiles.filter((f) => f.startsWith("deploy/k8s/") && !f.endsWith("kustomization.yaml")).flatMap((f) => yamlDocs(f).map((d) => ({ file: f, doc: d })));
const k8s = (kind: string, name: string): Obj => {
  const found = k8sDocs.filter(({ doc }) => doc.kind === kind && doc.metadata?.name === name);
  expect(found, `${kind}/${name}`).toHaveLength(1);
  return found[0]!.doc;
};
const podContainers = (workload: Obj): Obj[] => [...(workload.spec.template.spec.initContainers ?? []), ...workload.spec.template.spec.containers];

// ---------------------------------------------------------------- code facts

const configSource = read("collector/src/config/config.ts");
const PACKAGE_VERSION = (JSON.parse(read("package.json")) as { version: string }).version;
const DEFAULT_PORT = Number(/GAVEL_PORT \?\? (\d+)/.exec(configSource)![1]);
/** Env names Gavel reads: its config schema, plus what the worker, CLI and SDK read (`env.X`, `process.env.X`). */
const knownGavelEnv = new Set<string>([
  ...configSource.matchAll(/\b(GAVEL_[A-Z0-9_]+)\b/g),
  ...filesUnder(join(REPO, "collector/src"))
    .concat(existsSync(join(REPO, "packages/sdk/src")) ? filesUnder(join(REPO, "packages/sdk/src")) : [])
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))
    .flatMap((f) => [...read(f).matchAll(/\benv\.(GAVEL_[A-Z0-9_]+)/g)]),
].map((m) => m[1]!));
/** Names docs/production.md lists as planned (not read yet); none may appear in the deploy files. */
const planned = (() => {
  const section = /## Planned[^\n]*\n([\s\S]*?)(?=\n## |$)/.exec(read("docs/production.md"))?.[1] ?? "";
  return new Set([...section.matchAll(/`(GAVEL_[A-Z0-9_]+)`/g)].map((m) => m[1]!));
})();

function bytesOf(size: string): number {
  const m = /^(\d+)([kmg]?)$/i.exec(size.trim());
  if (!m) throw new Error(`not a size: ${size}`);
  return Number(m[1]) * { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as "" | "k" | "m" | "g"];
}

// ================================================================ tests

describe("every deploy file parses", () => {
  it.each(yamlFiles)("%s is YAML", (f) => {
    const docs = parseAllDocuments(read(f), { merge: true });
    expect(docs.flatMap((d) => d.errors.map((e) => e.message))).toEqual([]);
    expect(docs.flatMap((d) => d.warnings.map((e) => e.message))).toEqual([]);
  });

  it.each(xmlFiles)("%s is well-formed XML with a <clickhouse> root", (f) => {
    expect(xml(f).name).toBe("clickhouse");
  });

  it("the XML checker rejects what is not well-formed", () => {
    for (const bad of ["<a><b></a>", "<a>x & y</a>", "<a x=1/>", "<a/><b/>", "<a><!-- x -- y --></a>", "<a>", "<a><![CDATA[x]]></a>"]) {
      expect(() => parseXml(bad), bad).toThrow();
    }
    expect(parseXml('<a x="1"><b>t &amp; u</b><c/></a>').children.map((c) => c.text)).toEqual(["t & u", ""]);
  });

  it("the kustomization lists files that exist, and nothing under k8s/ is left out by accident", () => {
    const listed = (k8sKustomization.resources as string[]).map((r) => `deploy/k8s/${r}`);
    for (const f of listed) expect(existsSync(join(REPO, f)), f).toBe(true);
    const top = yamlFiles.filter((f) => /^deploy\/k8s\/[^/]+$/.test(f) && !f.endsWith("kustomization.yaml"));
    expect(top.sort()).toEqual(listed.sort());
  });
});

describe("one image tag per image", () => {
  const refs = (text: string) => [...text.matchAll(/\b((?:gavel\/gavel|clickhouse\/clickhouse-server|clickhouse\/clickhouse-keeper|nginx|otel\/opentelemetry-collector-contrib)):([\w.-]+)/g)];
  const all = [...deployFiles, "docs/production.md"].filter((f) => !f.endsWith(".example")).flatMap((f) => refs(read(f)).map((m) => ({ f, image: m[1]!, tag: m[2]! })));

  it("every file names the same tag of each image, and none floats on latest", () => {
    const byImage = new Map<string, Set<string>>();
    for (const r of all) byImage.set(r.image, (byImage.get(r.image) ?? new Set()).add(r.tag));
    for (const [image, tags] of byImage) expect([...tags], image).toHaveLength(1);
    expect(all.filter((r) => r.tag === "latest")).toEqual([]);
  });

  it("Gavel's image is tagged with the package version; server and keeper run the same ClickHouse", () => {
    expect(new Set(all.filter((r) => r.image === "gavel/gavel").map((r) => r.tag))).toEqual(new Set([PACKAGE_VERSION]));
    const server = all.find((r) => r.image === "clickhouse/clickhouse-server")!.tag;
    const keeper = all.find((r) => r.image === "clickhouse/clickhouse-keeper")!.tag;
    expect(server).toBe(keeper);
  });

  it("every image: field in compose and Kubernetes is one of those pinned references", () => {
    const images = [
      ...Object.values(clusterServices).map((s) => s.image),
      ...k8sDocs.flatMap(({ doc }) => JSON.stringify(doc).match(/"image":"[^"]+"/g) ?? []).map((s) => s.slice(9, -1)),
    ].filter((i): i is string => i !== undefined);
    expect(images.length).toBeGreaterThan(10);
    for (const i of images) expect(all.some((r) => `${r.image}:${r.tag}` === i), i).toBe(true);
  });
});

describe("the Dockerfile", () => {
  const df = read("deploy/Dockerfile");
  it("builds on node:20-slim with npm ci and the build, and starts the collector", () => {
    expect(df).toMatch(/^FROM node:20-slim AS build$/m);
    expect([...df.matchAll(/^FROM (\S+)/gm)].map((m) => m[1])).toEqual(["node:20-slim", "node:20-slim"]);
    expect(df).toMatch(/^RUN npm ci\b/m);
    expect(df).toMatch(/^RUN npm run build\b/m);
    expect(df).toContain('ENTRYPOINT ["node", "collector/dist/cli/main.js"]');
    expect(df).toContain('CMD ["start"]');
    expect(existsSync(join(REPO, "collector/src/cli/main.ts"))).toBe(true);
  });
  it("installs and ships every npm workspace (npm ci fails on a lockfile workspace it cannot see)", () => {
    const workspaces = (JSON.parse(read("package.json")) as { workspaces: string[] }).workspaces;
    expect(workspaces.length).toBeGreaterThan(0);
    for (const w of workspaces) {
      expect(df, w).toContain(`COPY ${w}/package.json ${w}/`);
      expect(df, w).toContain(`COPY --from=build /app/${w}/package.json ${w}/`);
      expect(df, w).toContain(`COPY --from=build /app/${w}/dist ${w}/dist`);
    }
  });

  it("exposes GAVEL_PORT and the default OTLP/gRPC port", () => {
    expect(Number(/GAVEL_PORT=(\d+)/.exec(df)![1])).toBe(DEFAULT_PORT);
    const exposed = /^EXPOSE ([\d ]+)$/m.exec(df)![1]!.split(" ").map(Number);
    expect(exposed).toEqual([DEFAULT_PORT, Number(/GAVEL_GRPC_PORT \?\? (\d+)/.exec(configSource)![1])]);
  });
  it("keeps build state out of the context (a stale .tsbuildinfo would skip the build)", () => {
    const ignore = read("deploy/Dockerfile.dockerignore");
    for (const p of ["**/node_modules", "**/dist", "**/*.tsbuildinfo"]) expect(ignore).toContain(p);
  });
});

describe("ports and the front door", () => {
  const gavelEnv = compose.services["gavel-collector"]!.environment!;
  const k8sConfig = k8s("ConfigMap", "gavel-config").data as Record<string, string>;
  const nginx = read("deploy/nginx/nginx.conf");

  it("GAVEL_PORT is Gavel's default port in compose and in Kubernetes", () => {
    expect(DEFAULT_PORT).toBe(4318);
    for (const [name, s] of gavelServices(compose.services)) expect(Number(s.environment!.GAVEL_PORT), name).toBe(DEFAULT_PORT);
    expect(Number(k8sConfig.GAVEL_PORT)).toBe(DEFAULT_PORT);
  });

  it("the compose proxy is `gavel`, listens on GAVEL_PORT and balances the collector service on GAVEL_PORT", () => {
    expect(compose.services.gavel!.image).toMatch(/^nginx:/);
    expect(compose.services.gavel!.ports).toEqual([`${DEFAULT_PORT}:${DEFAULT_PORT}`]);
    expect(Number(/^\s*listen (\d+);/m.exec(nginx)![1])).toBe(DEFAULT_PORT);
    const upstream = /upstream (\w+) \{([\s\S]*?)\n\s*\}/.exec(nginx)!;
    const servers = [...upstream[2]!.matchAll(/^\s*server ([\w.-]+):(\d+)\b/gm)];
    expect(servers.map((s) => [s[1], Number(s[2])])).toEqual([["gavel-collector", DEFAULT_PORT]]);
    expect(compose.services["gavel-collector"]).toBeDefined();
    expect(nginx).toMatch(new RegExp(`proxy_pass http://${upstream[1]};`));
  });

  it("the Kubernetes Service `gavel` and the Ingress reach the collectors' GAVEL_PORT", () => {
    const deploy = k8s("Deployment", "gavel-collector");
    const container = deploy.spec.template.spec.containers.find((c: Obj) => c.name === "collector");
    const port = container.ports.find((p: Obj) => p.name === "http");
    expect(port.containerPort).toBe(DEFAULT_PORT);
    const svc = k8s("Service", "gavel");
    expect(svc.spec.selector).toEqual(deploy.spec.selector.matchLabels);
    expect(svc.spec.ports).toEqual([{ name: "http", port: DEFAULT_PORT, targetPort: "http" }]);
    const backend = k8s("Ingress", "gavel").spec.rules[0].http.paths[0].backend.service;
    expect(backend).toEqual({ name: "gavel", port: { number: DEFAULT_PORT } });
  });

  it("the OpenTelemetry Collector receives on 4317/4318 and forwards to http://gavel:<GAVEL_PORT>, the name of both front doors", () => {
    const otel = yaml("deploy/otel/otel-collector.yaml");
    expect(otel.receivers.otlp.protocols.grpc.endpoint).toBe("0.0.0.0:4317");
    expect(otel.receivers.otlp.protocols.http.endpoint).toBe("0.0.0.0:4318");
    expect(otel.exporters["otlphttp/gavel"].endpoint).toBe(`http://gavel:${DEFAULT_PORT}`);
    expect(compose.services.gavel).toBeDefined();
    expect(k8s("Service", "gavel")).toBeDefined();
  });

  it("the proxies take exactly the bodies Gavel takes (GAVEL_MAX_BODY_BYTES)", () => {
    const limit = Number(gavelEnv.GAVEL_MAX_BODY_BYTES);
    expect(limit).toBe(64 * 1024 * 1024);
    expect(Number(k8sConfig.GAVEL_MAX_BODY_BYTES)).toBe(limit);
    expect(bytesOf(/client_max_body_size (\w+);/.exec(nginx)![1]!)).toBe(limit);
    expect(bytesOf(k8s("Ingress", "gavel").metadata.annotations["nginx.ingress.kubernetes.io/proxy-body-size"])).toBe(limit);
  });

  it("collectors and workers in compose reach ClickHouse as the `clickhouse` service on 8123", () => {
    for (const [name, s] of gavelServices(clusterServices)) {
      const url = new URL(s.environment!.GAVEL_CLICKHOUSE_URL!);
      expect([url.hostname, url.port], name).toEqual(["clickhouse", "8123"]);
    }
    // In the cluster, every ClickHouse node answers to that name.
    const answering = Object.entries(clusterServices).filter(([n, s]) => dnsNames(n, s).includes("clickhouse"));
    expect(answering.map(([n]) => n).sort()).toEqual(["ch-s1-r2", "ch-s2-r1", "ch-s2-r2", "clickhouse"]);
  });
});

describe("environment variables", () => {
  /** Every (file, name, value) of an environment given to a Gavel process. */
  const gavelEnvNames: { where: string; name: string }[] = [
    ...Object.entries(clusterServices).flatMap(([svc, s]) => Object.keys(s.environment ?? {}).map((name) => ({ where: `compose ${svc}`, name }))),
    ...Object.keys(k8s("ConfigMap", "gavel-config").data).map((name) => ({ where: "k8s configmap", name })),
    ...k8sDocs.flatMap(({ file, doc }) =>
      doc.spec?.template ? podContainers(doc).flatMap((c: Obj) => (c.env ?? []).map((e: Obj) => ({ where: `${file} ${c.name}`, name: e.name as string }))) : [],
    ),
    ...[...read("deploy/Dockerfile").matchAll(/\b(GAVEL_[A-Z0-9_]+)=/g)].map((m) => ({ where: "Dockerfile", name: m[1]! })),
    ...xmlFiles.flatMap((f) => walk(xml(f)).filter((e) => e.attrs.from_env).map((e) => ({ where: f, name: e.attrs.from_env! }))),
  ];

  it("every GAVEL_* name the deploy files set is one Gavel reads", () => {
    const unknown = gavelEnvNames.filter((e) => e.name.startsWith("GAVEL_") && !knownGavelEnv.has(e.name));
    expect(unknown).toEqual([]);
    for (const e of gavelEnvNames) expect(planned.has(e.name), `${e.name} is still planned (${e.where})`).toBe(false);
  });

  it("every compose ${VAR} is documented in deploy/.env.example, and every secret key in k8s/secrets.env.example", () => {
    const envExample = new Set([...read("deploy/.env.example").matchAll(/^([A-Z0-9_]+)=/gm)].map((m) => m[1]!));
    for (const f of ["deploy/compose.yaml", "deploy/compose.cluster.yaml"]) {
      for (const m of read(f).matchAll(/\$\{([A-Z0-9_]+)/g)) expect(envExample.has(m[1]!), `${f}: ${m[1]}`).toBe(true);
    }
    const secretsExample = new Set([...read("deploy/k8s/secrets.env.example").matchAll(/^([A-Z0-9_]+)=/gm)].map((m) => m[1]!));
    const generator = (k8sKustomization.secretGenerator as Obj[])[0]!;
    expect(generator.envs).toEqual(["secrets.env"]);
    const refs = k8sDocs.flatMap(({ doc }) => JSON.stringify(doc).match(/"secretKeyRef":\{[^}]+\}/g) ?? []).map((s) => JSON.parse(s.slice(15)) as { name: string; key: string });
    expect(refs.length).toBeGreaterThan(3);
    for (const r of refs) {
      expect(r.name).toBe(generator.name);
      expect(secretsExample.has(r.key), r.key).toBe(true);
    }
    const chi = yaml("deploy/k8s/clickhouse/clickhouse-installation.yaml");
    for (const [k, v] of Object.entries(chi.spec.configuration.users as Record<string, string>)) {
      if (!k.endsWith("/k8s_secret_password")) continue;
      const [ns, name, key] = v.split("/");
      expect([ns, name], k).toEqual([k8sKustomization.namespace, generator.name]);
      expect(secretsExample.has(key!), key).toBe(true);
    }
  });

  it("every from_env of a mounted ClickHouse or Keeper file is set on the service that mounts it", () => {
    let checked = 0;
    for (const [svc, s] of Object.entries(clusterServices)) {
      for (const v of s.volumes ?? []) {
        const src = v.split(":")[0]!;
        if (!src.endsWith(".xml")) continue;
        const file = relative(REPO, join(DEPLOY, src));
        expect(existsSync(join(REPO, file)), `${svc}: ${file}`).toBe(true);
        for (const e of walk(xml(file)).filter((el) => el.attrs.from_env)) {
          expect(Object.keys(s.environment ?? {}), `${svc} mounts ${file}, which reads ${e.attrs.from_env}`).toContain(e.attrs.from_env);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(20);
  });

  it("compose and Kubernetes connect as a ClickHouse user of users.d, to the database it is granted and compose creates", () => {
    const users = child(xml("deploy/clickhouse/users.d/gavel.xml"), "users");
    const gavelUser = child(users, compose.services["gavel-collector"]!.environment!.GAVEL_CLICKHOUSE_USER!);
    const db = compose.services["gavel-collector"]!.environment!.GAVEL_CLICKHOUSE_DATABASE!;
    expect(children(child(gavelUser, "grants"), "query").map((q) => q.text)).toContain(`GRANT ALL ON ${db}.*`);
    expect(compose.services.clickhouse!.environment!.CLICKHOUSE_DB).toBe(db);
    const cm = k8s("ConfigMap", "gavel-config").data;
    expect([cm.GAVEL_CLICKHOUSE_USER, cm.GAVEL_CLICKHOUSE_DATABASE]).toEqual([gavelUser.name, db]);
  });
});

describe("services", () => {
  it("compose runs ≥ 2 collectors after the migration, and workers 0..N-1 of N", () => {
    const collector = compose.services["gavel-collector"]!;
    expect(collector.deploy!.replicas).toBeGreaterThanOrEqual(2);
    expect(collector.command).toEqual(["start"]);
    expect(collector.depends_on!["gavel-migrate"]!.condition).toBe("service_completed_successfully");
    expect(compose.services["gavel-migrate"]!.command).toEqual(["migrate"]);
    const shards = Object.values(compose.services)
      .map((s) => s.command)
      .filter((c): c is string[] => c?.[0] === "worker")
      .map((c) => /^(\d+)\/(\d+)$/.exec(c[c.indexOf("--shard") + 1]!)!.slice(1).map(Number));
    expect(shards.length).toBeGreaterThanOrEqual(2);
    expect(shards.map(([i]) => i).sort()).toEqual(shards.map((_, i) => i));
    for (const [, n] of shards) expect(n).toBe(shards.length);
  });

  it("compose probes each worker on the worker's default metrics port, where /healthz is", () => {
    const src = read("collector/src/cli/worker-command.ts");
    const port = Number(/envPort \? Number\(envPort\) : (\d+)\)/.exec(src)![1]);
    expect(src).toContain("createWorkerApp(");
    expect(read("collector/src/server/worker-app.ts")).toContain('route(app, "GET", "/healthz", "open"');
    for (const [name, s] of Object.entries(compose.services).filter(([, s]) => s.command?.[0] === "worker")) {
      const test = (s as Service & { healthcheck: { test: string[] } }).healthcheck.test.join(" ");
      expect(test, name).toContain(`http://127.0.0.1:${port}/healthz`);
    }
  });

  it("Kubernetes runs ≥ 2 collectors probed on /healthz, migrating first, and N workers with --shard <index>/N", () => {
    const deploy = k8s("Deployment", "gavel-collector");
    expect(deploy.spec.replicas).toBeGreaterThanOrEqual(2);
    const c = deploy.spec.template.spec.containers.find((x: Obj) => x.name === "collector");
    expect(c.args).toEqual(["start"]);
    for (const probe of ["readinessProbe", "startupProbe"]) expect(c[probe].httpGet, probe).toEqual({ path: "/healthz", port: "http" });
    expect(deploy.spec.template.spec.initContainers[0].args.slice(0, 1)).toEqual(["migrate"]);
    expect(k8s("HorizontalPodAutoscaler", "gavel-collector").spec.minReplicas).toBe(deploy.spec.replicas);
    const workers = k8s("StatefulSet", "gavel-worker");
    const w = workers.spec.template.spec.containers[0];
    const shard = /^\$\((\w+)\)\/(\d+)$/.exec(w.args[w.args.indexOf("--shard") + 1])!;
    expect(Number(shard[2])).toBe(workers.spec.replicas);
    expect(w.env.find((e: Obj) => e.name === shard[1]).valueFrom.fieldRef.fieldPath).toBe("metadata.labels['apps.kubernetes.io/pod-index']");
    const metricsPort = Number(w.args[w.args.indexOf("--metrics-port") + 1]);
    expect(w.ports).toEqual([{ name: "metrics", containerPort: metricsPort }]);
    // Workers have no GAVEL_API_KEYS here, so they answer only a loopback Host (server/host-check.ts).
    for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
      expect(w[probe].httpGet, probe).toEqual({ path: "/healthz", port: "metrics", httpHeaders: [{ name: "Host", value: "localhost" }] });
    }
    expect(w.args[w.args.indexOf("--metrics-host") + 1]).toBe("0.0.0.0");
  });

  it("every Gavel container in Kubernetes gets the config map and its ClickHouse password", () => {
    for (const { doc } of k8sDocs.filter(({ doc }) => doc.spec?.template)) {
      for (const c of podContainers(doc).filter((x: Obj) => String(x.image).startsWith("gavel/gavel:"))) {
        expect(c.envFrom, c.name).toEqual([{ configMapRef: { name: "gavel-config" } }]);
        expect(c.env.map((e: Obj) => e.name), c.name).toContain("GAVEL_CLICKHOUSE_PASSWORD");
      }
    }
  });
});

describe("the OpenTelemetry Collector pipeline", () => {
  const otel = yaml("deploy/otel/otel-collector.yaml");

  it("batches, retries and queues on the way to Gavel, with an ingest key from the environment", () => {
    const exp = otel.exporters["otlphttp/gavel"];
    expect(exp.headers.Authorization).toBe("Bearer ${env:GAVEL_API_KEY}");
    expect(knownGavelEnv.has("GAVEL_API_KEY")).toBe(true);
    expect(exp.retry_on_failure.enabled).toBe(true);
    expect(exp.sending_queue.enabled).toBe(true);
    expect(otel.processors.batch.send_batch_max_size).toBeGreaterThan(0);
    const pipe = otel.service.pipelines.traces;
    expect(pipe.receivers).toEqual(["otlp"]);
    expect(pipe.processors).toContain("batch");
    expect(pipe.exporters).toEqual(["otlphttp/gavel"]);
  });

  it("declares every component it uses", () => {
    const pipe = otel.service.pipelines.traces;
    for (const r of pipe.receivers) expect(otel.receivers).toHaveProperty([r]);
    for (const p of pipe.processors) expect(otel.processors).toHaveProperty([p]);
    for (const e of pipe.exporters) expect(otel.exporters).toHaveProperty([e]);
    for (const x of otel.service.extensions) expect(otel.extensions).toHaveProperty([x]);
    expect(otel.service.extensions).toContain(otel.exporters["otlphttp/gavel"].sending_queue.storage);
  });

  it("is the same config in Kubernetes", () => {
    expect(parseYaml(k8s("ConfigMap", "otel-collector-config").data["config.yaml"])).toEqual(otel);
    const env = k8s("Deployment", "otel-collector").spec.template.spec.containers[0].env.map((e: Obj) => e.name);
    expect(env).toEqual(["GAVEL_API_KEY"]);
    expect(compose.services["otel-collector"]!.environment).toHaveProperty(["GAVEL_API_KEY"]);
  });
});

describe("the ClickHouse cluster", () => {
  const cluster = xml("deploy/clickhouse/cluster/cluster.xml");
  const remote = child(cluster, "remote_servers");
  const keeper = child(xml("deploy/clickhouse/keeper/keeper.xml"), "keeper_server");
  const clusters = remote.children;
  const name = clusters[0]!.name;
  const shards = children(clusters[0]!, "shard");

  it("defines one cluster of 2 shards x 2 replicas with internal replication, and only that one", () => {
    expect(remote.attrs.replace).toBe("true");
    expect(clusters.map((c) => c.name)).toEqual(["gavel"]);
    expect(shards).toHaveLength(2);
    for (const s of shards) {
      expect(child(s, "internal_replication").text).toBe("true");
      expect(children(s, "replica")).toHaveLength(2);
    }
    expect(child(clusters[0]!, "secret").attrs.from_env).toBeDefined();
  });

  it("is the cluster the migration and the DDL name", () => {
    expect(clusterServices["gavel-migrate"]!.command).toEqual(["migrate", "--cluster", name]);
    for (const w of [k8s("Deployment", "gavel-collector"), k8s("StatefulSet", "gavel-worker")]) {
      expect(w.spec.template.spec.initContainers.map((c: Obj) => c.args)).toEqual([["migrate", "--cluster", name]]);
    }
    const ddl = allSchemaStatements({ cluster: name });
    expect(ddl.some((s) => s.includes(`Distributed('${name}', `))).toBe(true);
    const chi = yaml("deploy/k8s/clickhouse/clickhouse-installation.yaml");
    expect(chi.spec.configuration.clusters.map((c: Obj) => [c.name, c.layout.shardsCount, c.layout.replicasCount])).toEqual([[name, 2, 2]]);
  });

  it("defines the {shard} and {replica} macros the Replicated engines use", () => {
    const macros = child(cluster, "macros").children.map((m) => m.name);
    const used = new Set(allSchemaStatements({ cluster: name }).flatMap((s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!)).filter((m) => m !== "database"));
    expect(used).toEqual(new Set(["shard", "replica"]));
    for (const m of used) expect(macros).toContain(m);
  });

  it("has a compose node for every replica, with that replica's shard and name in its macros", () => {
    const env = (el: XmlElement) => el.attrs.from_env!;
    const shardVar = env(child(child(cluster, "macros"), "shard"));
    const replicaVar = env(child(child(cluster, "macros"), "replica"));
    expect(env(child(cluster, "interserver_http_host"))).toBe(replicaVar);
    const nodes = shards.flatMap((s, i) => children(s, "replica").map((r) => ({ shard: String(i + 1), host: child(r, "host").text, port: child(r, "port").text })));
    for (const n of nodes) {
      const svc = Object.entries(clusterServices).filter(([sn, s]) => dnsNames(sn, s).includes(n.host) && s.image?.startsWith("clickhouse/clickhouse-server:"));
      expect(svc, n.host).toHaveLength(1);
      const [, s] = svc[0]!;
      expect(s.hostname).toBe(n.host);
      expect(s.environment![shardVar]).toBe(n.shard);
      expect(s.environment![replicaVar]).toBe(n.host);
      expect(n.port).toBe("9000");
      expect(s.volumes!.some((v) => v.startsWith("./clickhouse/cluster/cluster.xml:"))).toBe(true);
      expect(s.volumes!.some((v) => v.startsWith("./clickhouse/users.d/gavel.xml:"))).toBe(true);
    }
    expect(new Set(nodes.map((n) => n.host)).size).toBe(4);
  });

  it("points every node at the 3 keepers, which list each other in their raft configuration", () => {
    const zk = children(child(cluster, "zookeeper"), "node").map((n) => ({ host: child(n, "host").text, port: child(n, "port").text }));
    const raft = children(child(keeper, "raft_configuration"), "server").map((s) => ({ id: child(s, "id").text, host: child(s, "hostname").text }));
    expect(zk).toHaveLength(3);
    expect(raft.map((r) => r.host)).toEqual(zk.map((z) => z.host));
    for (const z of zk) expect(z.port).toBe(child(keeper, "tcp_port").text);
    const idVar = child(keeper, "server_id").attrs.from_env!;
    for (const r of raft) {
      const svc = clusterServices[r.host];
      expect(svc?.image, r.host).toMatch(/^clickhouse\/clickhouse-keeper:/);
      expect(svc!.hostname).toBe(r.host);
      expect(svc!.environment![idVar]).toBe(r.id);
    }
    expect(new Set(raft.map((r) => r.id)).size).toBe(3);
  });

  it("the Kubernetes ClickHouse and Keeper agree on the keeper service and port", () => {
    const chi = yaml("deploy/k8s/clickhouse/clickhouse-installation.yaml");
    const chk = yaml("deploy/k8s/clickhouse/clickhouse-keeper.yaml");
    expect(chi.spec.configuration.zookeeper.nodes).toEqual([{ host: `keeper-${chk.metadata.name}`, port: Number(chk.spec.configuration.settings["keeper_server/tcp_port"]) }]);
    expect(chk.spec.configuration.clusters[0].layout.replicasCount).toBe(3);
    expect(new URL(k8s("ConfigMap", "gavel-config").data.GAVEL_CLICKHOUSE_URL).hostname).toBe(`clickhouse-${chi.metadata.name}`);
  });
});

describe("ClickHouse users and profiles", () => {
  const usersXml = xml("deploy/clickhouse/users.d/gavel.xml");
  const profiles = child(usersXml, "profiles");
  const users = child(usersXml, "users");

  it("have a read-only profile for direct SQL with time, row and memory limits", () => {
    const ro = child(profiles, "gavel_readonly");
    expect(child(ro, "readonly").text).toBe("1");
    for (const s of ["max_execution_time", "max_result_rows", "max_memory_usage"]) expect(Number(child(ro, s).text), s).toBeGreaterThan(0);
    expect(child(child(users, "gavel_readonly"), "profile").text).toBe("gavel_readonly");
    expect(children(child(child(users, "gavel_readonly"), "grants"), "query").map((q) => q.text)).toEqual(["GRANT SELECT ON gavel.*"]);
  });

  it("make Distributed inserts of the writer synchronous, so an OTLP 200 means stored", () => {
    expect(child(child(profiles, "gavel"), "distributed_foreground_insert").text).toBe("1");
  });

  it("give every user a defined profile and a password from the environment", () => {
    for (const u of users.children) {
      expect(profiles.children.map((p) => p.name)).toContain(child(u, "profile").text);
      expect(child(u, "password").attrs.from_env, u.name).toBeDefined();
    }
  });

  it("are the same in the Kubernetes ClickHouseInstallation", () => {
    const chi = yaml("deploy/k8s/clickhouse/clickhouse-installation.yaml").spec.configuration;
    const fromXml: Record<string, string> = {};
    for (const p of profiles.children) for (const s of p.children) fromXml[`${p.name}/${s.name}`] = s.text;
    expect(chi.profiles).toEqual(fromXml);
    for (const u of users.children) {
      expect(chi.users[`${u.name}/profile`]).toBe(child(u, "profile").text);
      expect(chi.users[`${u.name}/grants/query`]).toEqual(children(child(u, "grants"), "query").map((q) => q.text));
      expect(chi.users[`${u.name}/networks/ip`]).toEqual(children(child(u, "networks"), "ip").map((q) => q.text));
    }
  });
});
