package report

import (
	"fmt"

	"github.com/kensa-inspect/kensa/scoring"
)

// labels are the words of the reports people read, in one language.
// Column names of plain CSV and JSON keys are not here: they stay
// English, for programs.
type labels struct {
	// Grade table.
	GroupOrg, GroupUnit, GroupAll string
	Grade, Overall, Servers       string
	Unknown, Missing              string
	ItemRates                     string
	// ServersMissing formats "N (M missing)" in the servers column.
	ServersMissing string
	// Header lines of text and Markdown tables.
	HeaderTitle      string // kensa grade — catalog %s, by %s; %s
	ByOrg, ByUnit    string
	ByAll            string
	PolicyCount      string
	PolicyExclude    string
	HeaderResults    string // results %s: %d servers
	HeaderOfInv      string // " of %d in the inventory"
	HeaderScan       string // ", scan %s"
	HeaderKensa      string // ", kensa %s"
	HeaderAdvisories string // advisory data as of %s
	HeaderAsOf       string // "; evaluated as of %s"
	// PARTIAL banners; each keeps the word PARTIAL.
	PartialBoth, PartialMissing, PartialUnattributed string
	// Legend and footer.
	Supplementary  string // "supplementary, not graded: "
	WithheldNote   string // %s: B* = … %d unknown outcomes …
	ExceptionsNote string // %s: %d passes granted by exception
	// Discrepancies.
	DiscrepanciesNone, DiscrepanciesN, DiscrepanciesTitle string
	None                                                  string
	Server, Org, Unit, Item, Probe, Declared, Counted     string
	MarkdownTitle                                         string
	// Outcomes and sources.
	Pass, Fail, UnknownOutcome, NA string
	FromProbe, FromDeclared        string
	// Questionnaire columns (--excel CSV, xlsx).
	QCategory, QItemName, QGraded, QApplicable, QImplemented, QRate string
	QVerified, QDeclared, QFail, QUnknown, QNA, QDiscrepancies      string
	QExceptions, SupplementaryCategory                              string
	// Per-server text (kensa probe).
	ProbeServices, ProbeSoftware, ProbeVerdicts, ProbeFindings string
	ProbeListed, ProbeDiscovered, ProbeProblem, ProbeNotKnown  string
	ProbeSupplementaryTag, ProbeDiscrepancy, ProbeByException  string
	ProbeAdvisories                                            string
	// HTML report and workbook.
	ReportTitle, ReportTitleOrg                     string
	ScanSection, GradesSection, ItemRatesSection    string
	OrgsSection, ChecklistSection                   string
	KensaVersion, ScanID, ScanPeriod, AdvisoriesAs  string
	EvaluatedAs, CatalogName, UnknownPolicy         string
	InventoryFile, InventoryDigest, InventoryCount  string
	ResultsFile, SourceAddress, Scope, ScopeDefault string
	ScopeOrg, Partial, Yes, No, ServersCounted      string
	GradeScale                                      string
	ProblemServers, NoProblemServers, Host          string
	Addresses, Outcome, Source, Reason, Evidence    string
	NoRecord, Discrepancy, Exception                string
	Undeclared, NoUndeclared, ExceptionsApplied     string
	NoExceptionsApplied, ExceptionsExpired          string
	NoExceptionsExpired, Graded, AppliesTo, Method  string
	AppliesToAll, Category, ItemName, ServerCounts  string
	FirstEvidence, FindingsSheet                    string
	GradesSheet, ItemRatesSheet, QuestionnaireSheet string
	ScanSheet, Field, Value, PrintHint, Legend      string
	Generated, Software                             string
}

var labelsEN = labels{
	GroupOrg: "group", GroupUnit: "group", GroupAll: "group",
	Grade: "grade", Overall: "overall", Servers: "servers", Unknown: "unknown", Missing: "missing",
	ItemRates:      "item rates (%)",
	ServersMissing: "%d (%d missing)",
	HeaderTitle:    "kensa grade — catalog %s, by %s; %s",
	ByOrg:          "org", ByUnit: "unit", ByAll: "all",
	PolicyCount:         "unknown outcomes counted in the denominators (--unknown count, the default)",
	PolicyExclude:       "unknown outcomes excluded from the denominators (--unknown exclude); no group with an unknown outcome is graded A",
	HeaderResults:       "results %s: %d servers",
	HeaderOfInv:         " of %d in the inventory",
	HeaderScan:          ", scan %s",
	HeaderKensa:         ", kensa %s",
	HeaderAdvisories:    "advisory data as of %s",
	HeaderAsOf:          "; evaluated as of %s",
	PartialBoth:         "PARTIAL: no record for %s of the inventory (counted unknown) nor for %d more whose group is unknown (no group graded A)",
	PartialMissing:      "PARTIAL: no record for %s of the inventory; their items count as unknown",
	PartialUnattributed: "PARTIAL: no record for %s of the inventory, and the inventory could not be read to place them; no group is graded A",
	Supplementary:       "supplementary, not graded: ",
	WithheldNote:        "%s: B* = every counted item passed, but A is withheld: %d unknown outcomes or servers without a record",
	ExceptionsNote:      "%s: %d passes granted by exception",
	DiscrepanciesNone:   "discrepancies between probe and declaration: none",
	DiscrepanciesN:      "discrepancies between probe and declaration: %d",
	DiscrepanciesTitle:  "Discrepancies between probe and declaration",
	None:                "None.",
	Server:              "server", Org: "org", Unit: "unit", Item: "item", Probe: "probe", Declared: "declared", Counted: "counted",
	MarkdownTitle: "kensa grade",
	Pass:          "pass", Fail: "fail", UnknownOutcome: "unknown", NA: "na",
	FromProbe: "probe", FromDeclared: "declared",
	QCategory: "category", QItemName: "item_name", QGraded: "graded", QApplicable: "applicable", QImplemented: "implemented", QRate: "rate",
	QVerified: "verified", QDeclared: "declared", QFail: "fail", QUnknown: "unknown", QNA: "na", QDiscrepancies: "discrepancies",
	QExceptions: "exceptions", SupplementaryCategory: "supplementary",
	ProbeServices: "services", ProbeSoftware: "software", ProbeVerdicts: "verdicts",
	ProbeFindings: "findings (weak algorithms and TLS fail items only where the policy says so)",
	ProbeListed:   "listed", ProbeDiscovered: "discovered, not in the inventory", ProbeProblem: "problem: %s",
	ProbeNotKnown: "(not recognised)", ProbeSupplementaryTag: " (supplementary)",
	ProbeDiscrepancy: "discrepancy: probe %s, declared %s", ProbeByException: "by exception: %s",
	ProbeAdvisories: "advisory data as of %s; evaluated as of %s",
	ReportTitle:     "Mail server inspection: results", ReportTitleOrg: "Mail server inspection: results for %s",
	ScanSection: "Scan", GradesSection: "Grades", ItemRatesSection: "Item rates (%)",
	OrgsSection: "Findings by organisation", ChecklistSection: "Checklist",
	KensaVersion: "kensa version", ScanID: "scan id", ScanPeriod: "scanned", AdvisoriesAs: "advisory data as of",
	EvaluatedAs: "evaluated as of", CatalogName: "catalog", UnknownPolicy: "unknown outcomes",
	InventoryFile: "inventory", InventoryDigest: "inventory digest", InventoryCount: "servers in the inventory",
	ResultsFile: "results file", SourceAddress: "scanner source address", Scope: "scope",
	ScopeDefault: "the inventory's own addresses (default)",
	ScopeOrg:     "this organisation's servers only (the scan's scope is not shown in a report for one organisation)",
	Partial:      "PARTIAL", Yes: "yes", No: "no", ServersCounted: "servers with a record",
	GradeScale:     "Grades: A = 100 %; B = 80 % ≤ x < 100 %; C = 60 % ≤ x < 80 %; D = x < 60 %. Overall = mean of the category rates; category rate = mean of its item rates; item rate = passing servers / servers the item applies to.",
	ProblemServers: "Servers with items that failed or could not be verified", NoProblemServers: "Every item passed or did not apply on every server.",
	Host: "host", Addresses: "addresses", Outcome: "outcome", Source: "source", Reason: "reason", Evidence: "evidence",
	NoRecord: "no record: the server was not scanned", Discrepancy: "discrepancy", Exception: "exception",
	Undeclared: "Undeclared services (answering, not in the inventory)", NoUndeclared: "No undeclared service answered.",
	ExceptionsApplied: "Exceptions applied", NoExceptionsApplied: "No exception was applied.",
	ExceptionsExpired: "Expired exceptions (ignored)", NoExceptionsExpired: "No expired exception.",
	Graded: "graded", AppliesTo: "applies to", Method: "how it is decided", AppliesToAll: "every server",
	Category: "category", ItemName: "item name", ServerCounts: "%d failed, %d unknown",
	FirstEvidence: "first evidence line", FindingsSheet: "Findings", GradesSheet: "Grades", ItemRatesSheet: "Item rates",
	QuestionnaireSheet: "Questionnaire", ScanSheet: "Scan", Field: "field", Value: "value",
	PrintHint: "Printing opens every collapsed section.", Legend: "Legend",
	Generated: "Written by kensa %s from %s.",
	Software:  "Software seen in the banners (banner lines verbatim)",
}

var labelsJA = labels{
	GroupOrg: "組織", GroupUnit: "組織 / 部局", GroupAll: "区分",
	Grade: "総合評価", Overall: "実施率", Servers: "台数", Unknown: "確認不能", Missing: "記録なし",
	ItemRates:      "項目別実施率（%）",
	ServersMissing: "%d（記録なし %d）",
	HeaderTitle:    "kensa 評価 — カタログ %s、集計単位 %s；%s",
	ByOrg:          "組織", ByUnit: "組織・部局", ByAll: "全体",
	PolicyCount:         "確認不能は分母に含める（--unknown count、既定）",
	PolicyExclude:       "確認不能は分母から除く（--unknown exclude）；確認不能のある区分は A としない",
	HeaderResults:       "結果 %s：%d 台",
	HeaderOfInv:         "（インベントリ %d 台中）",
	HeaderScan:          "、スキャン %s",
	HeaderKensa:         "、kensa %s",
	HeaderAdvisories:    "脆弱性情報 %s 時点",
	HeaderAsOf:          "；評価基準日 %s",
	PartialBoth:         "PARTIAL（一部）：インベントリのうち %sに記録がなく（確認不能として計上）、ほかに所属の分からない %d 台にも記録がない（A とする区分はない）",
	PartialMissing:      "PARTIAL（一部）：インベントリのうち %sに記録がない；その項目は確認不能として計上",
	PartialUnattributed: "PARTIAL（一部）：インベントリのうち %sに記録がなく、インベントリを読めないため所属が分からない；A とする区分はない",
	Supplementary:       "補完調査（評価の対象外）：",
	WithheldNote:        "%s：B* = 計上した項目はすべて実施されているが、確認不能 %d 件または記録のないサーバがあるため A としない",
	ExceptionsNote:      "%s：例外により実施とした項目 %d 件",
	DiscrepanciesNone:   "測定と申告の相違：なし",
	DiscrepanciesN:      "測定と申告の相違：%d 件",
	DiscrepanciesTitle:  "測定と申告の相違",
	None:                "なし。",
	Server:              "サーバ", Org: "組織", Unit: "部局", Item: "項目", Probe: "測定", Declared: "申告", Counted: "計上",
	MarkdownTitle: "kensa 評価",
	Pass:          "実施", Fail: "未実施", UnknownOutcome: "確認不能", NA: "対象外",
	FromProbe: "測定", FromDeclared: "申告",
	QCategory: "カテゴリー", QItemName: "項目名", QGraded: "評価対象", QApplicable: "対象数", QImplemented: "実施数", QRate: "実施率",
	QVerified: "実施数（測定で確認）", QDeclared: "実施数（申告による）", QFail: "未実施", QUnknown: "確認不能", QNA: "対象外", QDiscrepancies: "相違",
	QExceptions: "例外", SupplementaryCategory: "補完調査",
	ProbeServices: "サービス", ProbeSoftware: "ソフトウェア", ProbeVerdicts: "判定",
	ProbeFindings: "所見（弱い暗号・TLS はポリシーで指定したときのみ判定に影響）",
	ProbeListed:   "インベントリ記載", ProbeDiscovered: "検出、インベントリに記載なし", ProbeProblem: "問題：%s",
	ProbeNotKnown: "（識別できず）", ProbeSupplementaryTag: "（補完調査）",
	ProbeDiscrepancy: "相違：測定 %s、申告 %s", ProbeByException: "例外による：%s",
	ProbeAdvisories: "脆弱性情報 %s 時点；評価基準日 %s",
	ReportTitle:     "電子メールサーバ重点検査 結果", ReportTitleOrg: "電子メールサーバ重点検査 結果（%s）",
	ScanSection: "検査の概要", GradesSection: "総合評価", ItemRatesSection: "項目別実施率（%）",
	OrgsSection: "組織別の指摘事項", ChecklistSection: "検査項目",
	KensaVersion: "kensa のバージョン", ScanID: "スキャン ID", ScanPeriod: "スキャン日時", AdvisoriesAs: "脆弱性情報の時点",
	EvaluatedAs: "評価基準日", CatalogName: "カタログ", UnknownPolicy: "確認不能の扱い",
	InventoryFile: "インベントリ", InventoryDigest: "インベントリのダイジェスト", InventoryCount: "インベントリの台数",
	ResultsFile: "結果ファイル", SourceAddress: "スキャナの送信元アドレス", Scope: "スコープ",
	ScopeDefault: "インベントリ記載のアドレス（既定）",
	ScopeOrg:     "この組織のサーバのみ（組織別の報告にはスキャン全体のスコープを記載しない）",
	Partial:      "PARTIAL（一部）", Yes: "はい", No: "いいえ", ServersCounted: "記録のある台数",
	GradeScale:     "評価：A = 100%、B = 80% ≤ x < 100%、C = 60% ≤ x < 80%、D = x < 60%。総合評価の実施率はカテゴリーの平均実施率の平均、カテゴリーの実施率は項目ごとの対策実施率の平均、対策実施率は実施している台数 ÷ 対象の台数。",
	ProblemServers: "未実施または確認不能の項目があるサーバ", NoProblemServers: "すべてのサーバで、すべての項目が実施または対象外。",
	Host: "ホスト", Addresses: "アドレス", Outcome: "判定", Source: "根拠", Reason: "理由", Evidence: "証跡",
	NoRecord: "記録なし：スキャンされていない", Discrepancy: "相違", Exception: "例外",
	Undeclared: "インベントリにないサービス（応答あり）", NoUndeclared: "インベントリにないサービスの応答はない。",
	ExceptionsApplied: "適用した例外", NoExceptionsApplied: "適用した例外はない。",
	ExceptionsExpired: "期限切れの例外（適用せず）", NoExceptionsExpired: "期限切れの例外はない。",
	Graded: "評価対象", AppliesTo: "対象", Method: "判定方法", AppliesToAll: "すべてのサーバ",
	Category: "カテゴリー", ItemName: "項目名", ServerCounts: "未実施 %d、確認不能 %d",
	FirstEvidence: "証跡（1 行目）", FindingsSheet: "指摘事項", GradesSheet: "総合評価", ItemRatesSheet: "項目別実施率",
	QuestionnaireSheet: "調査票", ScanSheet: "検査の概要", Field: "項目", Value: "内容",
	PrintHint: "印刷すると折りたたんだ部分もすべて開く。", Legend: "凡例",
	Generated: "kensa %s が %s から作成。",
	Software:  "バナーから見たソフトウェア（バナーは受信したまま）",
}

// labelsFor returns the words of lang ("en"; anything else is Japanese,
// the default).
func labelsFor(lang string) *labels {
	if lang == "en" {
		return &labelsEN
	}
	return &labelsJA
}

// outcome translates an outcome word.
func (l *labels) outcome(o scoring.Outcome) string {
	switch o {
	case scoring.Pass:
		return l.Pass
	case scoring.Fail:
		return l.Fail
	case scoring.Unknown:
		return l.UnknownOutcome
	case scoring.NA:
		return l.NA
	}
	return string(o)
}

// source translates a verdict's source.
func (l *labels) source(s scoring.Source) string {
	switch s {
	case scoring.FromProbe:
		return l.FromProbe
	case scoring.FromDeclared:
		return l.FromDeclared
	}
	return string(s)
}

// group returns the heading of the group column for a grouping.
func (l *labels) group(by scoring.GroupBy) string {
	switch by {
	case scoring.ByUnit:
		return l.GroupUnit
	case scoring.ByAll:
		return l.GroupAll
	}
	return l.GroupOrg
}

// by names a grouping in a header line.
func (l *labels) by(by scoring.GroupBy) string {
	switch by {
	case scoring.ByUnit:
		return l.ByUnit
	case scoring.ByAll:
		return l.ByAll
	}
	return l.ByOrg
}

// policy says which unknown policy a table used.
func (l *labels) policy(p scoring.UnknownPolicy) string {
	if p == scoring.ExcludeUnknown {
		return l.PolicyExclude
	}
	return l.PolicyCount
}

// servers says "1 server" or "N servers" (Japanese: "N 台").
func (l *labels) servers(n int) string {
	if l == &labelsJA {
		return fmt.Sprintf("%d 台", n)
	}
	if n == 1 {
		return "1 server"
	}
	return fmt.Sprintf("%d servers", n)
}
