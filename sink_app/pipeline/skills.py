"""The skills vocabulary of the local enricher, and the matcher that finds them.

Matching is on word boundaries and case-insensitive, except for names that are also
ordinary words ("Go", "Swift", "Excel"), which must be written as the name is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_TAGS = 15


@dataclass(frozen=True)
class Skill:
    """A skill's display name and other spellings that name it.

    With `exact_case` the display name matches only as written, for names that are
    also ordinary words ("Go", "Swift", "Excel"); aliases always ignore case. A name
    that is also a verb is skipped before a hyphen or a word in `not_before`.
    """

    name: str
    aliases: tuple[str, ...] = ()
    exact_case: bool = False
    not_before: tuple[str, ...] = ()


_GO_VERB = (
    "to", "ahead", "beyond", "further", "live", "back", "for", "out", "through", "get"
)  # fmt: skip

SKILLS: tuple[Skill, ...] = (
    # Languages
    Skill("Python"),
    Skill("Java"),
    Skill("JavaScript", ("js", "ecmascript")),
    Skill("TypeScript"),
    Skill("C++", ("cpp",)),
    Skill("C#", ("csharp",)),
    Skill("Go", ("golang",), exact_case=True, not_before=_GO_VERB),
    Skill("Rust", exact_case=True),
    Skill("Ruby"),
    Skill("PHP"),
    Skill("Kotlin"),
    Skill("Swift", exact_case=True),
    Skill("Scala"),
    Skill(
        "Objective-C",
    ),
    Skill("Perl"),
    Skill("Dart", exact_case=True),
    Skill("Elixir"),
    Skill("Erlang"),
    Skill("Haskell"),
    Skill("Clojure"),
    Skill("Lua"),
    Skill("MATLAB"),
    Skill("Bash", ("shell scripting",)),
    Skill("PowerShell"),
    Skill("SQL"),
    Skill("NoSQL"),
    Skill("Solidity"),
    Skill("COBOL"),
    Skill("Groovy"),
    Skill("F#", ("fsharp",)),
    Skill("VBA"),
    Skill(".NET", (".net core", "dotnet")),
    Skill("ASP.NET"),
    # Web and APIs
    Skill("React", ("react.js", "reactjs"), exact_case=True),
    Skill("React Native"),
    Skill("Angular", ("angularjs",)),
    Skill("Vue.js", ("vue", "vuejs")),
    Skill("Svelte"),
    Skill("Next.js", ("nextjs",)),
    Skill("Nuxt", ("nuxt.js",)),
    Skill("Redux"),
    Skill("HTML", ("html5",)),
    Skill("CSS", ("css3",)),
    Skill("Sass", ("scss",)),
    Skill("Tailwind CSS", ("tailwind",)),
    Skill("jQuery"),
    Skill("Webpack"),
    Skill("GraphQL"),
    Skill("REST", ("restful", "rest api", "rest apis"), exact_case=True),
    Skill("gRPC"),
    Skill("Node.js", ("nodejs",)),
    Skill("Express.js", ("expressjs",)),
    Skill("Django"),
    Skill("Flask", exact_case=True),
    Skill("FastAPI"),
    Skill("Spring Boot"),
    Skill("Spring Framework"),
    Skill("Ruby on Rails"),
    Skill("Laravel"),
    Skill("Symfony"),
    Skill("Hibernate"),
    Skill("Microservices", ("microservice", "micro-services")),
    # Data stores and messaging
    Skill("PostgreSQL", ("postgres",)),
    Skill("MySQL"),
    Skill("MongoDB", ("mongo",)),
    Skill("Redis"),
    Skill("Elasticsearch", ("elastic search",)),
    Skill("SQLite"),
    Skill("SQL Server", ("mssql", "microsoft sql server")),
    Skill("Oracle", exact_case=True),
    Skill("Cassandra"),
    Skill("DynamoDB"),
    Skill("Kafka", ("apache kafka",)),
    Skill("RabbitMQ"),
    Skill("Celery", exact_case=True),
    # Data and machine learning
    Skill("Snowflake", exact_case=True),
    Skill("BigQuery"),
    Skill("Redshift"),
    Skill("Databricks"),
    Skill("Spark", ("apache spark", "pyspark"), exact_case=True),
    Skill("Hadoop"),
    Skill("Airflow", ("apache airflow",)),
    Skill("dbt", exact_case=True),
    Skill("ETL"),
    Skill("Pandas"),
    Skill("NumPy"),
    Skill("scikit-learn", ("sklearn",)),
    Skill("TensorFlow"),
    Skill("PyTorch"),
    Skill("Keras"),
    Skill("Machine Learning"),
    Skill("Deep Learning"),
    Skill("NLP", ("natural language processing",)),
    Skill("Computer Vision"),
    Skill("LLM", ("llms", "large language models", "large language model")),
    Skill("Data Analysis", ("data analytics",)),
    Skill("Data Science"),
    Skill("Statistics"),
    Skill("Power BI", ("powerbi",)),
    Skill("Tableau"),
    Skill("Looker"),
    Skill(
        "Excel",
        ("microsoft excel", "ms excel"),
        exact_case=True,
        not_before=("in", "at", "as", "with"),
    ),
    # Cloud and operations
    Skill("AWS", ("amazon web services",)),
    Skill("Azure", ("microsoft azure",)),
    Skill("GCP", ("google cloud", "google cloud platform")),
    Skill("Docker"),
    Skill("Kubernetes", ("k8s",)),
    Skill("Terraform"),
    Skill("Ansible"),
    Skill("Helm", exact_case=True),
    Skill("Jenkins"),
    Skill("GitHub Actions"),
    Skill("GitLab", ("gitlab ci",)),
    Skill("CI/CD", ("ci / cd", "cicd")),
    Skill("Git"),
    Skill("Linux"),
    Skill("Unix"),
    Skill("Nginx"),
    Skill("Prometheus"),
    Skill("Grafana"),
    Skill("Datadog"),
    Skill("OpenShift"),
    Skill("Serverless"),
    Skill("DevOps"),
    Skill("SRE", ("site reliability engineering",)),
    # Mobile, testing, security, design
    Skill("iOS"),
    Skill("Android"),
    Skill("Flutter"),
    Skill("SwiftUI"),
    Skill("Selenium"),
    Skill("Cypress", exact_case=True),
    Skill("Playwright"),
    Skill("Jest", exact_case=True),
    Skill("pytest"),
    Skill("Test Automation", ("automated testing",)),
    Skill("TDD", ("test-driven development",)),
    Skill("Cybersecurity", ("cyber security", "information security")),
    Skill("Penetration Testing", ("pentesting",)),
    Skill("OAuth"),
    Skill("Figma"),
    Skill("Photoshop", ("adobe photoshop",)),
    Skill("UX", ("ui/ux", "user experience"), exact_case=True),
    Skill("Unity", ("unity3d",), exact_case=True),
    Skill("Unreal Engine"),
    Skill("Embedded Systems", ("embedded software",)),
    Skill("FPGA"),
    Skill("AutoCAD"),
    Skill("SolidWorks"),
    # Ways of working and business
    Skill("Agile"),
    Skill("Scrum"),
    Skill("Kanban"),
    Skill("Jira"),
    Skill("Confluence", exact_case=True),
    Skill("Salesforce"),
    Skill("SAP", exact_case=True),
    Skill("HubSpot"),
    Skill("SEO"),
    Skill("Google Analytics"),
    Skill("Digital Marketing"),
    Skill("Content Marketing"),
    Skill("Copywriting"),
    Skill("Project Management"),
    Skill("Product Management"),
    Skill("Stakeholder Management"),
    Skill("Account Management"),
    Skill("Business Development"),
    Skill("B2B"),
    Skill("SaaS"),
    Skill("E-commerce", ("ecommerce",)),
    Skill("CRM"),
    Skill("ERP"),
    Skill("Accounting"),
    Skill("Bookkeeping"),
    Skill("Financial Modeling", ("financial modelling",)),
    Skill("Financial Analysis"),
    Skill("Budgeting"),
    Skill("Customer Service", ("customer support",)),
    Skill("Negotiation"),
    Skill("Recruiting", ("recruitment",)),
    Skill("Supply Chain", ("supply chain management",)),
    Skill("Logistics"),
    Skill("Six Sigma"),
    Skill("Microsoft Office", ("ms office",)),
)

_SKILL_LEFT = r"(?<![\w+#.@])"
_SKILL_RIGHT = r"(?![\w+#]|\.\w)"


def _spelling_pattern(spelling: str, skill: Skill) -> str:
    body = r"\s+".join(re.escape(word) for word in spelling.split())
    if spelling != skill.name:
        return f"(?i:{body})"
    if skill.not_before:
        body += rf"(?![-‑]|\s+(?i:{'|'.join(skill.not_before)})\b)"
    return body if skill.exact_case else f"(?i:{body})"


def _skill_index() -> tuple[re.Pattern[str], dict[str, str]]:
    spellings: list[tuple[str, Skill]] = []
    for skill in SKILLS:
        spellings.append((skill.name, skill))
        spellings.extend((alias, skill) for alias in skill.aliases)
    spellings.sort(key=lambda item: len(item[0]), reverse=True)
    alternatives = "|".join(_spelling_pattern(text, skill) for text, skill in spellings)
    canonical = {_spelling_key(text): skill.name for text, skill in spellings}
    return re.compile(f"{_SKILL_LEFT}(?:{alternatives}){_SKILL_RIGHT}"), canonical


def _spelling_key(text: str) -> str:
    return " ".join(text.lower().split())


_SKILL_PATTERN, _CANONICAL = _skill_index()


def find_skills(text: str, limit: int = MAX_TAGS) -> list[str]:
    """Skills named in `text`, by display name, in order of first appearance."""
    found: list[str] = []
    for match in _SKILL_PATTERN.finditer(text):
        name = _CANONICAL[_spelling_key(match.group(0))]
        if name not in found:
            found.append(name)
        if len(found) >= limit:
            break
    return found
