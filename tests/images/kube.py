"""The image test's edits of deploy/kubernetes, so that `podman kube play` (Debian 12's podman
4.3) runs them. Every edit is named, checked (an edit that finds nothing to change fails the
test, so the manifests cannot drift away from what the test plays) and listed in
deploy/kubernetes/README.md:

  images      the images the test built (the manifests name warden:VERSION)
  namespace   env NAMESPACE from metadata.namespace becomes its value: podman 4.3 has no such
              fieldRef
  ports       containerPort entries dropped: podman 4.3 publishes each one on the host's port of
              the same number, so the three pods' 50002 would collide (Kubernetes publishes
              nothing; the headless Services, which podman ignores, only name the port)
  secrets     the Secret volumes become hostPath folders holding the files cert-manager would
              put in the Secret (tls.crt, tls.key, ca.crt; mode 0644 as a Secret volume's
              default): podman 4.3 mounts the base64 text of a Secret's data and ignores
              stringData
  oauth       README "OAuth2": the MCP server's sidecar runs --config=mcp-server-oauth and trusts
              the issuer's CA; the MCP client gets AUTH0_* and that CA
  configmap   kustomize's configMapGenerator: ConfigMap warden-resources from resources/ (and
              the oauth/ files, issuer and audience filled in as the README says)

Usage (Debian's python3 with python3-yaml):
  kube.py apps DEPLOY OUT SECRETS WARDEN_IMAGE EXAMPLES_IMAGE ISSUER_URL AUDIENCE ID SECRET
  kube.py configmap DEPLOY ISSUER_URL AUDIENCE > configmap.yaml
  kube.py issuer WARDEN_IMAGE HOST PORT CLIENT_ID SECRET AUDIENCE > issuer.yaml
where SECRETS/<secret name>/ holds each Secret's files (and SECRETS/issuer-ca/ca.crt).
"""
import os
import sys

import yaml

APPS = ("weather-service", "mcp-server", "mcp-client")
ISSUER_CA_DIR = "/issuer-ca"


def fail(msg):
    sys.exit("kube.py: " + msg)


def load(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def dump(docs):
    return yaml.safe_dump_all(docs, sort_keys=False)


def deployment(docs, name):
    found = [d for d in docs if d.get("kind") == "Deployment" and d["metadata"]["name"] == name]
    if len(found) != 1:
        fail("no Deployment %s" % name)
    return found[0]["spec"]["template"]["spec"]


def container(pod, name):
    found = [c for c in pod["containers"] if c["name"] == name]
    if len(found) != 1:
        fail("no container %s" % name)
    return found[0]


def edit_images(pod, warden_image, examples_image):
    """images: warden:* and warden-examples:* become the images the test built."""
    n = 0
    for c in pod["containers"]:
        repo = c["image"].rsplit(":", 1)[0]
        if repo == "warden":
            c["image"], n = warden_image, n + 1
        elif repo == "warden-examples":
            c["image"], n = examples_image, n + 1
    if n != 2:
        fail("expected an app and a warden container, found %d images to replace" % n)


def edit_namespace(pod, namespace):
    """namespace: env NAMESPACE from metadata.namespace becomes its value."""
    n = 0
    for c in pod["containers"]:
        for e in c.get("env", []):
            ref = e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
            if e["name"] == "NAMESPACE" and ref == "metadata.namespace":
                del e["valueFrom"]
                e["value"], n = namespace, n + 1
    if n != 1:
        fail("expected one NAMESPACE fieldRef, found %d" % n)


def edit_ports(pod):
    """ports: containerPort entries dropped (podman would publish them on the host)."""
    n = 0
    for c in pod["containers"]:
        if c.pop("ports", None) is not None:
            n += 1
    if n != 1:
        fail("expected the warden container's ports, found %d containers with ports" % n)


def edit_secrets(pod, secrets):
    """secrets: Secret volumes become hostPath folders with the same files."""
    n = 0
    for v in pod["volumes"]:
        if "secret" in v:
            path = os.path.join(secrets, v.pop("secret")["secretName"])
            if not os.path.isfile(os.path.join(path, "tls.crt")):
                fail("no files for the Secret volume %s in %s" % (v["name"], path))
            v["hostPath"], n = {"path": path, "type": "Directory"}, n + 1
    if n != 1:
        fail("expected one Secret volume, found %d" % n)


def mount_issuer_ca(pod, c, secrets):
    c.setdefault("volumeMounts", []).append(
        {"name": "issuer-ca", "mountPath": ISSUER_CA_DIR, "readOnly": True})
    path = os.path.join(secrets, "issuer-ca")
    pod["volumes"].append({"name": "issuer-ca", "hostPath": {"path": path, "type": "Directory"}})


def set_arg(c, old, new):
    if c["args"].count(old) != 1:
        fail("no argument %s in %s" % (old, c["name"]))
    c["args"][c["args"].index(old)] = new


def edit_oauth(app, pod, secrets, issuer_domain, audience, client_id, secret):
    """oauth: the README's OAuth2 steps, with the test's issuer."""
    ca_file = {"name": "WARDEN_CA_FILE", "value": ISSUER_CA_DIR + "/ca.crt"}
    if app == "mcp-server":
        w = container(pod, "warden")
        set_arg(w, "--config=mcp-server", "--config=mcp-server-oauth")
        w.setdefault("env", []).append(ca_file)
        mount_issuer_ca(pod, w, secrets)
    elif app == "mcp-client":
        a = container(pod, "app")
        a.setdefault("env", []).extend([
            {"name": "AUTH0_DOMAIN", "value": issuer_domain},
            {"name": "AUTH0_CLIENT_ID", "value": client_id},
            {"name": "AUTH0_CLIENT_SECRET", "value": secret},
            {"name": "AUTH0_AUDIENCE", "value": audience},
            ca_file,
        ])
        mount_issuer_ca(pod, a, secrets)


def cmd_apps(deploy, out, secrets, warden_image, examples_image, issuer_url, audience, client_id,
             secret):
    domain = issuer_url.split("://", 1)[1].rstrip("/")
    for app in APPS:
        docs = load(os.path.join(deploy, app + ".yaml"))
        namespace = [d for d in docs if d.get("kind") == "Deployment"][0]["metadata"]["namespace"]
        pod = deployment(docs, app)
        edit_images(pod, warden_image, examples_image)
        edit_namespace(pod, namespace)
        edit_ports(pod)
        edit_secrets(pod, secrets)
        edit_oauth(app, pod, secrets, domain, audience, client_id, secret)
        with open(os.path.join(out, app + ".yaml"), "w") as f:
            f.write(dump(docs))


def cmd_configmap(deploy, issuer_url, audience):
    kust = load(os.path.join(deploy, "kustomization.yaml"))[0]
    gen = [g for g in kust["configMapGenerator"] if g["name"] == "warden-resources"]
    if len(gen) != 1:
        fail("kustomization.yaml has no configMapGenerator warden-resources")
    files = list(gen[0]["files"]) + ["oauth/bearer.yaml", "oauth/mcp-server-oauth.yaml"]
    data = {}
    for rel in files:
        with open(os.path.join(deploy, rel)) as f:
            text = f.read()
        if rel == "oauth/bearer.yaml":
            docs = load(os.path.join(deploy, rel))
            meta = {m["name"]: m for m in docs[0]["spec"]["metadata"]}
            if "issuer" not in meta or "audience" not in meta:
                fail("oauth/bearer.yaml has no issuer or audience")
            meta["issuer"]["value"], meta["audience"]["value"] = issuer_url, audience
            text = dump(docs)
        data[os.path.basename(rel)] = text
    cm = {"apiVersion": "v1", "kind": "ConfigMap",
          "metadata": {"name": "warden-resources", "namespace": kust["namespace"]},
          "data": data}
    sys.stdout.write(dump([cm]))


def cmd_issuer(warden_image, host, port, client_id, secret, audience):
    """The development issuer, reachable from the other pods at https://HOST:PORT/."""
    pod = {
        "automountServiceAccountToken": False,
        "securityContext": {"runAsNonRoot": True, "runAsUser": 65532, "runAsGroup": 65532},
        "containers": [{
            "name": "issuer",
            "image": warden_image,
            "args": ["issuer", "--address=0.0.0.0", "--host=" + host, "--port=" + port,
                     "--state=/state", "--client=%s:%s" % (client_id, secret),
                     "--audience=" + audience, "--log-stderr"],
            "securityContext": {"allowPrivilegeEscalation": False,
                                "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]}},
            "volumeMounts": [{"name": "state", "mountPath": "/state"}],
        }],
        "volumes": [{"name": "state", "emptyDir": {}}],
    }
    d = {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "issuer", "labels": {"app": "issuer"}},
         "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "issuer"}},
                  "template": {"metadata": {"labels": {"app": "issuer"}}, "spec": pod}}}
    sys.stdout.write(dump([d]))


def main(argv):
    cmds = {"apps": (cmd_apps, 9), "configmap": (cmd_configmap, 3), "issuer": (cmd_issuer, 6)}
    if len(argv) < 2 or argv[1] not in cmds or len(argv) - 2 != cmds[argv[1]][1]:
        fail("usage: see the top of this file")
    cmds[argv[1]][0](*argv[2:])


if __name__ == "__main__":
    main(sys.argv)
