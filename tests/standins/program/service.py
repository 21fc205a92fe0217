#!/usr/bin/python3
"""CI stand-in for a vendor program (Jenkins, Elasticsearch, Logstash, Kibana, Filebeat). NOT the real product.

Installed by the `+standin` packages that tests/standins/build.py makes. It imitates the packaging contract
and the management surface roles use: it reads the configuration the vendor's package reads, from the same
path, refuses to start when that configuration does not parse, listens where it says (with the TLS it says),
answers the health endpoints roles wait on and the API calls they make (Elasticsearch security, ILM and
templates, Kibana data views), and ships the keystore tools. Everything else answers HTTP 501. No indexing,
no log shipping, no builds. tests/standins/README.md lists what is imitated and what is not.

Usage (what the packages' unit files and wrappers run):
    service.py jenkins                        # environment as the real jenkins.service sets it
    service.py elasticsearch [-p PIDFILE] [--quiet]
    service.py elasticsearch-keystore create|list|add|add-file|remove|show|has-passwd ...
    service.py logstash [--path.settings DIR] [-f PATH] [-t|--config.test_and_exit]
    service.py logstash-keystore [--path.settings DIR] create|list|add|remove ...
    service.py kibana
    service.py kibana-keystore create|list|add|remove ...
    service.py filebeat [test config|test output] [-c FILE] [--path.config DIR] [--strict.perms=false] ...
"""

from __future__ import annotations

import sys

from standin_common import die


def main() -> None:
    if len(sys.argv) < 2:
        die("standin", __doc__ or "")
    product, args = sys.argv[1], sys.argv[2:]
    if product == "jenkins":
        from standin_jenkins import jenkins

        jenkins()
    elif product == "elasticsearch":
        from standin_elasticsearch import elasticsearch

        elasticsearch(args)
    elif product == "elasticsearch-keystore":
        from standin_elasticsearch import elasticsearch_keystore

        elasticsearch_keystore(args)
    elif product == "logstash":
        from standin_logstash import logstash

        logstash(args)
    elif product in {"logstash-keystore", "kibana-keystore"}:
        from standin_common import product_keystore

        product_keystore(product, args)
    elif product == "kibana":
        from standin_kibana import kibana

        kibana()
    elif product == "filebeat":
        from standin_filebeat import filebeat

        filebeat(args)
    else:
        die(product, "unknown product")


if __name__ == "__main__":
    main()
