/*
 * proto_content_fp_test.c - fingerprint quality on generated campaigns
 *
 * Five spam templates (pharmacy, order-confirmation phishing, advance
 * fee, stock pump, account-security phishing), 200 personalised variants
 * each: recipient name and address, greeting, tracking URLs with
 * per-recipient tokens and rotating domains, dates, amounts, order
 * numbers, spun synonyms, a block of shuffled sentences and, in half of
 * them, a line of random "hash buster" words; sent as plain
 * 7bit, quoted-printable, multipart/alternative or base64 HTML. Plus 200
 * unrelated legitimate messages built from a pool of everyday sentences
 * with their own names, dates and signatures. Asserts that variants of a
 * campaign share a band key (what an edge lookup finds) in >= 95 % of
 * pairs and that no variant matches another campaign or a legitimate
 * message; prints both figures.
 * Trust: generated input only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/mx_err.h"
#include "proto/proto_content.h"

#define FQ_CAMPAIGNS 5
#define FQ_VARIANTS 200
#define FQ_LEGIT 200
#define FQ_MSG_MAX 65536

struct fq_rng {
	uint64_t s;
};

struct fq_out {
	char *p;
	size_t n, cap;
};

static const char *const fq_first[] = {"James", "Mary", "John", "Patricia",
    "Robert", "Jennifer", "Michael", "Linda", "William", "Elizabeth", "David",
    "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Charles", "Karen", "Daniel", "Nancy", "Matthew", "Lisa", "Anthony",
    "Betty", "Mark", "Margaret", "Donald", "Sandra", "Steven", "Ashley", "Paul",
    "Kimberly", "Andrew", "Emily", "Joshua", "Donna", "Kenneth", "Michelle",
    "Ren\xc3\xa9", "Zo\xc3\xab", "J\xc3\xbcrgen", "Fran\xc3\xa7ois"};
static const char *const fq_last[] = {"Smith", "Johnson", "Williams", "Brown",
    "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez", "Hernandez",
    "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore",
    "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris",
    "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young",
    "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
    "M\xc3\xbcller", "O'Brien"};
static const char *const fq_maildom[] = {"example.com", "mail.example.net",
    "corp.example.org", "example.co.uk", "inbox.example", "example.de"};
static const char *const fq_months[] = {"January", "February", "March", "April",
    "May", "June", "July", "August", "September", "October", "November",
    "December"};
static const char *const fq_days[] = {
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday"};

/*
 * Templates: {N} full name, {F} first name, {U} tracking URL, {D} date,
 * {A} amount, {O} order number, {E} recipient address, {I} IPv4 address,
 * {S:a|b|c} one of the choices, {G} greeting line; a line "@SHUFFLE"
 * starts and "@END" ends a block of sentences sent in a random order.
 */
struct fq_tmpl {
	const char *subject;
	const char *body;
	const char *const *hosts; /* rotating URL hosts */
};

static const char *const fq_hosts_a[] = {
    "rx-discount.example", "pharma-deals.example", "meds4less.example", NULL};
static const char *const fq_hosts_b[] = {
    "track-parcel.example", "order-status.example", NULL};
static const char *const fq_hosts_c[] = {"secure-transfer.example", NULL};
static const char *const fq_hosts_d[] = {
    "hotstock-alerts.example", "penny-picks.example", NULL};
static const char *const fq_hosts_e[] = {
    "account-verify.example", "login-check.example", "secure-id.example", NULL};

static const struct fq_tmpl fq_tmpls[FQ_CAMPAIGNS] = {
    {"{F}, save up to 80% on your prescriptions",
        "{G}\n"
        "{S:Tired of paying too much|Are you paying too much|Stop overpaying} "
        "for your medication? Our licensed online pharmacy ships brand and "
        "generic medicines straight to your door, with no prescription needed "
        "and no embarrassing visits to the doctor.\n"
        "@SHUFFLE\n"
        "Viagra, Cialis and Levitra at a fraction of the retail price.\n"
        "Weight loss pills that really work, guaranteed or your money back.\n"
        "Discreet packaging and worldwide delivery within days.\n"
        "Over one million satisfied customers since we opened our doors.\n"
        "@END\n"
        "This week only, {F}, every order over {A} gets free express "
        "shipping and a bonus pack of ten pills.\n"
        "Visit our secure store now: {U}\n"
        "{S:Act now|Don't wait|Hurry}, this special offer expires on {D}.\n"
        "Your personal discount code is {O}, enter it at checkout.\n"
        "To stop receiving these offers reply to {E} with remove in the "
        "subject line.\n",
        fq_hosts_a},
    {"Your order {O} has been shipped",
        "{G}\n"
        "Thank you for shopping with us. Your order {O} placed on {D} for a "
        "total of {A} has been processed and shipped with our express "
        "courier partner.\n"
        "You can follow your parcel at any time using the link below:\n"
        "{U}\n"
        "@SHUFFLE\n"
        "If you did not authorise this purchase please cancel it within 24 "
        "hours.\n"
        "Unauthorised orders are refunded in full once you confirm your card "
        "details.\n"
        "Our customer service team is available around the clock to help "
        "you.\n"
        "@END\n"
        "To cancel the order and request a refund, {S:sign in|log in|verify "
        "your identity} here: {U}\n"
        "This message was sent to {E} because an account was registered with "
        "this address. Please do not reply to this automated message.\n"
        "Kind regards,\nCustomer Care Department\n",
        fq_hosts_b},
    {"URGENT AND CONFIDENTIAL BUSINESS PROPOSAL",
        "{G}\n"
        "I am Barrister Samuel Okoro, the personal attorney to the late "
        "engineer who died with his wife and only daughter in a car accident "
        "on the expressway. I have contacted you to assist in repatriating "
        "the money and property left behind by my client before they are "
        "confiscated or declared unserviceable by the bank where this huge "
        "deposit was lodged.\n"
        "The deposit is valued at about {A} and the bank has issued me a "
        "notice to provide the next of kin or have the account confiscated "
        "within the next ten official working days.\n"
        "@SHUFFLE\n"
        "Since I have been unsuccessful in locating the relatives for over "
        "two years now, I seek your consent to present you as the next of "
        "kin of the deceased.\n"
        "All legal documents to back up your claim will be provided by me.\n"
        "This transaction is one hundred percent risk free and legal.\n"
        "We shall share the money in the ratio of sixty percent to me and "
        "forty percent to you.\n"
        "@END\n"
        "Please send me your full name, private telephone number and address "
        "to {E} or reach me through {U} so that we can proceed "
        "{S:immediately|without delay|at once}.\n"
        "Reference number {O}.\n"
        "Yours faithfully,\nBarrister Samuel Okoro\n",
        fq_hosts_c},
    {"{S:Hot stock alert|Stock pick of the week|Breaking market news}: "
     "GRWX about to explode",
        "{G}\n"
        "Our analysts have identified a small cap company poised for massive "
        "gains. Green Wave Energy Corp is set to announce a major contract "
        "with a national utility and the market has not priced it in yet.\n"
        "@SHUFFLE\n"
        "Current price is only pennies and volume is surging every day.\n"
        "Insiders have been buying heavily over the last two weeks.\n"
        "Our last three picks gained more than four hundred percent.\n"
        "Analysts set a short term target far above the current price.\n"
        "@END\n"
        "On {D} the company will hold a press conference that could send the "
        "shares through the roof. Get in before the crowd does.\n"
        "Read the full research report here: {U}\n"
        "{S:Watch this one closely|Do not miss out|Add it to your watch list} "
        "tomorrow morning at the opening bell.\n"
        "This newsletter is a paid advertisement and not investment advice; "
        "you received it at {E}.\n",
        fq_hosts_d},
    {"Security alert: unusual sign-in activity on your account",
        "{G}\n"
        "We detected an unusual sign-in attempt to your account {E} on {D} "
        "from IP address {I}. For your protection we have temporarily limited "
        "access to some features of your account.\n"
        "@SHUFFLE\n"
        "If this was you, you can safely ignore this message.\n"
        "If this was not you, your password may have been compromised.\n"
        "Accounts that are not verified within 48 hours will be suspended.\n"
        "@END\n"
        "To restore full access please {S:verify|confirm|validate} your "
        "account information by following the secure link below:\n"
        "{U}\n"
        "Case number: {O}\n"
        "We apologise for any inconvenience and thank you for helping us keep "
        "your account safe.\n"
        "The Account Security Team\n",
        fq_hosts_e},
};

static const char *const fq_greet[] = {"Dear {N},", "Hello {F},", "Hi {F},",
    "Dear {F},", "Greetings {N},", "Dear Valued Customer {F},"};

/* legitimate mail: everyday sentences with slots */
static const char *const fq_legit_sent[] = {
    "Can we move the {S:meeting|call|review} about the {S:budget|roadmap|"
    "migration|launch} to {W}?",
    "I have attached the {S:slides|minutes|draft|spreadsheet} from "
    "yesterday, let me know if anything is missing.",
    "The build on the {S:main|release|staging} branch failed again because "
    "of a flaky network test.",
    "Mum says the kids loved the {S:zoo|beach|museum|park} and want to go "
    "back next summer.",
    "Are you still coming to dinner on {W}? We can pick you up at the "
    "station.",
    "I pushed a patch that fixes the memory leak in the parser, please "
    "review it when you have a minute.",
    "The quarterly numbers look better than expected, sales grew in every "
    "region except the north.",
    "Thanks for the book recommendation, I finished it over the weekend "
    "and could not put it down.",
    "Our flight was delayed by three hours so we only reached the hotel "
    "after midnight.",
    "Please remember to submit your expense reports before the end of the "
    "month.",
    "Does anyone know why the mirror has been so slow since the upgrade?",
    "I think the problem is in the configuration file, the path to the "
    "certificate is wrong.",
    "The garden is finally blooming and the tomatoes are almost ready to "
    "pick.",
    "We are looking for volunteers to help with the {S:charity run|bake "
    "sale|school fair} next month.",
    "My sister is getting married in {M} and we are all flying over for "
    "the wedding.",
    "The new version of the library breaks backwards compatibility, so we "
    "should pin the old one for now.",
    "Could you send me the phone number of the plumber you used last "
    "year?",
    "I will be out of the office until {W} with limited access to email.",
    "The committee approved the proposal with a few minor changes to the "
    "schedule.",
    "Has anybody tried running the test suite on the new hardware?",
    "We went hiking in the mountains and the view from the top was "
    "spectacular.",
    "The landlord finally agreed to fix the heating before winter.",
    "Here is the link to the document we discussed: {U}",
    "I disagree with the last comment, the cache should be invalidated on "
    "every write.",
    "Happy birthday! I hope you have a wonderful day with the family.",
    "The printer on the second floor is out of toner again.",
    "Let us keep the discussion on the list so that others can follow "
    "it.",
    "I reproduced the bug with the attached message, it only happens with "
    "long headers.",
    "The recipe needs two cups of flour, a pinch of salt and three eggs.",
    "Traffic was terrible this morning because of the roadworks near the "
    "bridge.",
    "Please find below the agenda for {W}'s team meeting.",
    "We should upgrade the database server before the holiday season "
    "starts.",
    "The cat knocked over the plant again, there is soil all over the "
    "carpet.",
    "I agree that the documentation needs a section on installation from "
    "source.",
    "The concert was cancelled because the singer lost her voice.",
    "Can you check whether the backup ran successfully last night?",
    "The new intern starts on {W}, please make her feel welcome.",
    "I found an old photo of us at the lake, I will bring it next time.",
    "The patch applies cleanly but two unit tests fail on big endian "
    "machines.",
    "Our neighbours are selling their house and moving to the coast.",
};
static const char *const fq_legit_sig[] = {"Thanks,\n{F}", "Cheers,\n{F}",
    "Best regards,\n{N}", "--\n{N}\nSent from my phone", "Love,\n{F}",
    "Regards,\n{N}\nSenior Engineer"};

/* fq_next - splitmix64 */
static uint64_t
fq_next(struct fq_rng *r)
{
	uint64_t x = (r->s += 0x9e3779b97f4a7c15ULL);

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* fq_pick - uniform index below n */
static size_t
fq_pick(struct fq_rng *r, size_t n)
{
	return (size_t)(fq_next(r) % n);
}

/* fq_put - append bytes */
static void
fq_put(struct fq_out *o, const char *p, size_t n)
{
	assert_true(o->n + n < o->cap);
	memcpy(o->p + o->n, p, n);
	o->n += n;
	o->p[o->n] = '\0';
}

/* fq_puts - append a string */
static void
fq_puts(struct fq_out *o, const char *s)
{
	fq_put(o, s, strlen(s));
}

/* fq_printf - append formatted text */
static void __attribute__((format(printf, 2, 3)))
fq_printf(struct fq_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->p + o->n, o->cap - o->n, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < o->cap - o->n);
	o->n += (size_t)n;
}

struct fq_person {
	const char *first, *last;
	char email[96];
	uint64_t id;
};

/* fq_person_new - a random recipient */
static void
fq_person_new(struct fq_rng *r, struct fq_person *p)
{
	size_t i;
	int n;

	p->first = fq_first[fq_pick(r, sizeof(fq_first) / sizeof(fq_first[0]))];
	p->last = fq_last[fq_pick(r, sizeof(fq_last) / sizeof(fq_last[0]))];
	p->id = fq_next(r);
	n = snprintf(p->email, sizeof(p->email), "%c.user%u@%s",
	    (char)('a' + (int)fq_pick(r, 26)), (unsigned)(p->id % 100000),
	    fq_maildom[fq_pick(r, sizeof(fq_maildom) / sizeof(fq_maildom[0]))]);
	assert_true(n > 0 && (size_t)n < sizeof(p->email));
	for (i = 0; p->email[i]; i++)
		if (p->email[i] >= 'A' && p->email[i] <= 'Z')
			p->email[i] = (char)(p->email[i] + 32);
}

/* fq_expand - render a template string with slots into o */
static void
fq_expand(struct fq_rng *r, const char *t, const struct fq_person *p,
    const char *const *hosts, struct fq_out *o)
{
	while (*t) {
		const char *e;

		if (*t != '{') {
			e = strchr(t, '{');
			if (e == NULL)
				e = t + strlen(t);
			fq_put(o, t, (size_t)(e - t));
			t = e;
			continue;
		}
		e = strchr(t, '}');
		assert_non_null(e);
		if (t[1] == 'S' && t[2] == ':') {
			const char *s = t + 3, *bar;
			size_t n = 1, k, i;

			for (bar = s; bar < e; bar++)
				n += *bar == '|';
			k = fq_pick(r, n);
			for (i = 0; i < k; i++)
				s = strchr(s, '|') + 1;
			bar = s;
			while (bar < e && *bar != '|')
				bar++;
			fq_put(o, s, (size_t)(bar - s));
		} else if (t[1] == 'G') {
			fq_expand(r,
			    fq_greet[fq_pick(
			        r, sizeof(fq_greet) / sizeof(fq_greet[0]))],
			    p, hosts, o);
		} else if (t[1] == 'N') {
			fq_printf(o, "%s %s", p->first, p->last);
		} else if (t[1] == 'F') {
			fq_puts(o, p->first);
		} else if (t[1] == 'E') {
			fq_puts(o, p->email);
		} else if (t[1] == 'U') {
			const char *h = "docs.example.org";
			size_t nh = 0;

			while (hosts != NULL && hosts[nh] != NULL)
				nh++;
			if (nh > 0)
				h = hosts[fq_pick(r, nh)];
			fq_printf(o, "http://%s/c/%016llx?uid=%llu&src=mail%u",
			    h, (unsigned long long)fq_next(r),
			    (unsigned long long)(p->id % 1000000000ULL),
			    (unsigned)fq_pick(r, 100));
		} else if (t[1] == 'D') {
			switch (fq_pick(r, 3)) {
			case 0:
				fq_printf(o, "%s %u, 20%02u",
				    fq_months[fq_pick(r, 12)],
				    (unsigned)fq_pick(r, 28) + 1,
				    (unsigned)fq_pick(r, 10) + 15);
				break;
			case 1:
				fq_printf(o, "%02u/%02u/20%02u",
				    (unsigned)fq_pick(r, 12) + 1,
				    (unsigned)fq_pick(r, 28) + 1,
				    (unsigned)fq_pick(r, 10) + 15);
				break;
			default:
				fq_printf(o, "20%02u-%02u-%02u",
				    (unsigned)fq_pick(r, 10) + 15,
				    (unsigned)fq_pick(r, 12) + 1,
				    (unsigned)fq_pick(r, 28) + 1);
				break;
			}
		} else if (t[1] == 'A') {
			fq_printf(o, "$%u,%03u.%02u",
			    (unsigned)fq_pick(r, 90) + 1,
			    (unsigned)fq_pick(r, 1000),
			    (unsigned)fq_pick(r, 100));
		} else if (t[1] == 'O') {
			fq_printf(o, "#%c%c%08u", (char)('A' + fq_pick(r, 26)),
			    (char)('A' + fq_pick(r, 26)),
			    (unsigned)fq_pick(r, 100000000));
		} else if (t[1] == 'I') {
			fq_printf(o, "%u.%u.%u.%u",
			    (unsigned)fq_pick(r, 223) + 1,
			    (unsigned)fq_pick(r, 256),
			    (unsigned)fq_pick(r, 256),
			    (unsigned)fq_pick(r, 254) + 1);
		} else if (t[1] == 'W') {
			fq_puts(o, fq_days[fq_pick(r, 5)]);
		} else if (t[1] == 'M') {
			fq_puts(o, fq_months[fq_pick(r, 12)]);
		}
		t = e + 1;
	}
}

/* fq_render - body text: lines of the template, shuffled block shuffled */
static void
fq_render(struct fq_rng *r, const char *body, const struct fq_person *p,
    const char *const *hosts, struct fq_out *o)
{
	const char *lines[32];
	size_t n = 0, i, nb = 0, b0 = 0;
	char *copy = strdup(body), *s, *save = NULL;

	assert_non_null(copy);
	for (s = strtok_r(copy, "\n", &save); s != NULL;
	     s = strtok_r(NULL, "\n", &save)) {
		assert_true(n < 32);
		lines[n++] = s;
	}
	for (i = 0; i < n; i++) {
		if (strcmp(lines[i], "@SHUFFLE") == 0) {
			b0 = i + 1;
			nb = 0;
			while (strcmp(lines[b0 + nb], "@END") != 0)
				nb++;
			for (size_t k = nb; k > 1; k--) { /* Fisher-Yates */
				size_t j = fq_pick(r, k);
				const char *t = lines[b0 + k - 1];

				lines[b0 + k - 1] = lines[b0 + j];
				lines[b0 + j] = t;
			}
			continue;
		}
		if (strcmp(lines[i], "@END") == 0)
			continue;
		fq_expand(r, lines[i], p, hosts, o);
		fq_puts(o, "\n");
	}
	free(copy);
}

/* fq_qp - quoted-printable of text with CRLF line ends */
static void
fq_qp(const char *t, struct fq_out *o)
{
	size_t col = 0;

	for (; *t; t++) {
		unsigned char c = (unsigned char)*t;

		if (c == '\n') {
			fq_puts(o, "\r\n");
			col = 0;
			continue;
		}
		if (col >= 72) {
			fq_puts(o, "=\r\n");
			col = 0;
		}
		if (c == '=' || c >= 0x7f ||
		    (c == ' ' && (t[1] == '\n' || !t[1]))) {
			fq_printf(o, "=%02X", c);
			col += 3;
		} else {
			fq_put(o, (const char *)&c, 1);
			col++;
		}
	}
}

/* fq_b64 - base64 with 76-column lines */
static void
fq_b64(const char *t, size_t n, struct fq_out *o)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *u = (const unsigned char *)t;
	size_t i, col = 0;

	for (i = 0; i < n; i += 3) {
		unsigned v = (unsigned)u[i] << 16;
		char q[4];

		if (i + 1 < n)
			v |= (unsigned)u[i + 1] << 8;
		if (i + 2 < n)
			v |= u[i + 2];
		q[0] = a[v >> 18];
		q[1] = a[(v >> 12) & 63];
		q[2] = i + 1 < n ? a[(v >> 6) & 63] : '=';
		q[3] = i + 2 < n ? a[v & 63] : '=';
		fq_put(o, q, 4);
		if ((col += 4) >= 76) {
			fq_puts(o, "\r\n");
			col = 0;
		}
	}
	fq_puts(o, "\r\n");
}

/* fq_crlf - text with LF to CRLF */
static void
fq_crlf(const char *t, struct fq_out *o)
{
	for (; *t; t++) {
		if (*t == '\n')
			fq_put(o, "\r", 1);
		fq_put(o, t, 1);
	}
}

/* fq_html - text as simple HTML: paragraphs, URLs as links */
static void
fq_html(const char *t, struct fq_out *o)
{
	fq_puts(o, "<html><head><style>p{font-family:Arial}</style></head>"
	           "<body bgcolor=\"#ffffff\">\n<p>");
	while (*t) {
		if (strncmp(t, "http://", 7) == 0) {
			size_t k = strcspn(t, " \n");

			fq_puts(o, "<a href=\"");
			fq_put(o, t, k);
			fq_puts(o, "\"><b>");
			fq_put(o, t, k);
			fq_puts(o, "</b></a>");
			t += k;
		} else if (*t == '\n') {
			fq_puts(o, "</p>\n<p>");
			t++;
		} else if (*t == '&') {
			fq_puts(o, "&amp;");
			t++;
		} else if (*t == '\'') {
			fq_puts(o, "&#39;");
			t++;
		} else {
			fq_put(o, t, 1);
			t++;
		}
	}
	fq_puts(o, "</p>\n</body></html>\n");
}

/* fq_message - headers and a body in one of four formats */
static void
fq_message(struct fq_rng *r, const char *subject, const char *text,
    const struct fq_person *to, int fmt, struct fq_out *o)
{
	char *html;
	struct fq_out h;

	fq_printf(o,
	    "Return-Path: <bounce-%llx@sender.example>\r\n"
	    "Received: from mx%u.sender.example ([192.0.2.%u])\r\n"
	    "\tby mx.example.com with ESMTP id %llx\r\n"
	    "From: \"News Desk\" <news%u@sender.example>\r\n"
	    "To: %s %s <%s>\r\n"
	    "Subject: %s\r\n"
	    "Date: Tue, %u Jun 2024 10:%02u:00 +0000\r\n"
	    "Message-ID: <%llx@sender.example>\r\n"
	    "MIME-Version: 1.0\r\n",
	    (unsigned long long)fq_next(r), (unsigned)fq_pick(r, 9),
	    (unsigned)fq_pick(r, 250), (unsigned long long)fq_next(r),
	    (unsigned)fq_pick(r, 50), to->first, to->last, to->email, subject,
	    (unsigned)fq_pick(r, 28) + 1, (unsigned)fq_pick(r, 60),
	    (unsigned long long)fq_next(r));
	h.cap = FQ_MSG_MAX;
	h.n = 0;
	h.p = malloc(h.cap);
	assert_non_null(h.p);
	h.p[0] = '\0';
	fq_html(text, &h);
	html = h.p;
	switch (fmt) {
	case 0:
		fq_puts(o, "Content-Type: text/plain; charset=utf-8\r\n"
		           "Content-Transfer-Encoding: 8bit\r\n\r\n");
		fq_crlf(text, o);
		break;
	case 1:
		fq_puts(o,
		    "Content-Type: text/plain; charset=\"UTF-8\"\r\n"
		    "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
		fq_qp(text, o);
		break;
	case 2:
		fq_puts(o,
		    "Content-Type: multipart/alternative; "
		    "boundary=\"=_alt_42\"\r\n\r\n"
		    "This is a multi-part message in MIME format.\r\n"
		    "--=_alt_42\r\n"
		    "Content-Type: text/plain; charset=utf-8\r\n"
		    "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
		fq_qp(text, o);
		fq_puts(o,
		    "\r\n--=_alt_42\r\n"
		    "Content-Type: text/html; charset=utf-8\r\n"
		    "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
		fq_qp(html, o);
		fq_puts(o, "\r\n--=_alt_42--\r\n");
		break;
	default:
		fq_puts(o, "Content-Type: text/html; charset=utf-8\r\n"
		           "Content-Transfer-Encoding: base64\r\n\r\n");
		fq_b64(html, strlen(html), o);
		break;
	}
	free(html);
}

/* fq_spam - variant v of campaign t */
static void
fq_spam(struct fq_rng *r, int t, struct fq_out *o)
{
	struct fq_person p;
	struct fq_out s = {NULL, 0, 512}, b = {NULL, 0, FQ_MSG_MAX};

	fq_person_new(r, &p);
	s.p = malloc(s.cap);
	b.p = malloc(b.cap);
	assert_true(s.p != NULL && b.p != NULL);
	s.p[0] = b.p[0] = '\0';
	fq_expand(r, fq_tmpls[t].subject, &p, fq_tmpls[t].hosts, &s);
	fq_render(r, fq_tmpls[t].body, &p, fq_tmpls[t].hosts, &b);
	if (fq_pick(r, 2) == 0) { /* hash buster: a line of random words */
		size_t w, k, nw = 4 + fq_pick(r, 7), len;

		for (w = 0; w < nw; w++) {
			char word[12];

			len = 3 + fq_pick(r, 7);
			for (k = 0; k < len; k++)
				word[k] = (char)('a' + fq_pick(r, 26));
			word[len] = '\0';
			fq_puts(&b, word);
			fq_puts(&b, w + 1 < nw ? " " : "\n");
		}
	}
	fq_message(r, s.p, b.p, &p, (int)fq_pick(r, 4), o);
	free(s.p);
	free(b.p);
}

/* fq_legit - an everyday message */
static void
fq_legit(struct fq_rng *r, struct fq_out *o)
{
	struct fq_person p, from;
	struct fq_out b = {NULL, 0, FQ_MSG_MAX};
	size_t n = 4 + fq_pick(r, 9), i;
	char subject[128];
	int k;

	fq_person_new(r, &p);
	fq_person_new(r, &from);
	b.p = malloc(b.cap);
	assert_non_null(b.p);
	b.p[0] = '\0';
	fq_expand(
	    r, fq_pick(r, 2) ? "Hi {F},\n" : "Hello {F},\n", &p, NULL, &b);
	for (i = 0; i < n; i++) {
		fq_expand(r,
		    fq_legit_sent[fq_pick(
		        r, sizeof(fq_legit_sent) / sizeof(fq_legit_sent[0]))],
		    &p, NULL, &b);
		fq_puts(&b, fq_pick(r, 3) == 0 ? "\n" : " ");
	}
	fq_puts(&b, "\n");
	fq_expand(r,
	    fq_legit_sig[fq_pick(
	        r, sizeof(fq_legit_sig) / sizeof(fq_legit_sig[0]))],
	    &from, NULL, &b);
	fq_puts(&b, "\n");
	k = snprintf(subject, sizeof(subject), "Re: %s %u",
	    fq_days[fq_pick(r, 5)], (unsigned)fq_pick(r, 1000));
	assert_true(k > 0 && (size_t)k < sizeof(subject));
	fq_message(r, subject, b.p, &p, (int)fq_pick(r, 3), o);
	free(b.p);
}

/* fq_fp - fingerprint of one generated message */
static void
fq_fp(const struct fq_out *o, struct proto_fp *fp)
{
	static struct proto_content_result res;

	assert_int_equal(proto_content_analyze(o->p, o->n, &res), 0);
	assert_int_equal(res.flags & PROTO_CF_MIME_BROKEN, 0);
	*fp = res.fp;
}

static void
test_campaigns_match_and_legit_does_not(void **state)
{
	struct proto_fp *fp;
	struct fq_rng r = {20240601};
	struct fq_out o = {NULL, 0, FQ_MSG_MAX};
	size_t nspam = FQ_CAMPAIGNS * FQ_VARIANTS, n = nspam + FQ_LEGIT;
	size_t i, j, t;
	uint64_t in_pairs = 0, in_hits = 0, ref_pairs = 0, ref_hits = 0;
	uint64_t x_pairs = 0, x_hits = 0, l_pairs = 0, l_hits = 0, l_msgs = 0;
	uint64_t x_band = 0, l_band = 0;
	uint64_t sim_sum = 0, sim_min = PROTO_FP_K;
	double in_rate, ref_rate;

	(void)state;
	fp = calloc(n, sizeof(*fp));
	o.p = malloc(o.cap);
	assert_true(fp != NULL && o.p != NULL);
	for (i = 0; i < n; i++) {
		o.n = 0;
		o.p[0] = '\0';
		if (i < nspam)
			fq_spam(&r, (int)(i / FQ_VARIANTS), &o);
		else
			fq_legit(&r, &o);
		fq_fp(&o, &fp[i]);
		assert_true(fp[i].is_valid);
	}
	for (t = 0; t < FQ_CAMPAIGNS; t++) {
		const struct proto_fp *c = fp + t * FQ_VARIANTS;

		for (i = 0; i < FQ_VARIANTS; i++) {
			for (j = i + 1; j < FQ_VARIANTS; j++) {
				unsigned s = proto_fp_similarity(&c[i], &c[j]);

				in_pairs++;
				in_hits +=
				    (uint64_t)proto_fp_match(&c[i], &c[j]);
				sim_sum += s;
				if (s < sim_min)
					sim_min = s;
			}
			if (i > 0) {
				ref_pairs++;
				ref_hits +=
				    (uint64_t)proto_fp_match(&c[0], &c[i]);
			}
		}
	}
	for (i = 0; i < nspam; i++)
		for (j = i + 1; j < nspam; j++)
			if (i / FQ_VARIANTS != j / FQ_VARIANTS) {
				x_pairs++;
				x_hits +=
				    (uint64_t)proto_fp_match(&fp[i], &fp[j]);
				x_band +=
				    (uint64_t)proto_fp_band_hit(&fp[i], &fp[j]);
			}
	for (i = nspam; i < n; i++) {
		int hit = 0;

		for (j = 0; j < nspam; j++) {
			l_pairs++;
			l_band += (uint64_t)proto_fp_band_hit(&fp[i], &fp[j]);
			if (proto_fp_match(&fp[i], &fp[j])) {
				l_hits++;
				hit = 1;
			}
		}
		l_msgs += (uint64_t)hit;
	}
	in_rate = 100.0 * (double)in_hits / (double)in_pairs;
	ref_rate = 100.0 * (double)ref_hits / (double)ref_pairs;
	printf("fingerprint quality: %d campaigns x %d variants, %d legit\n",
	    FQ_CAMPAIGNS, FQ_VARIANTS, FQ_LEGIT);
	printf("  within-campaign match rate: %.2f %% of %llu pairs "
	       "(%.2f %% against the first variant as signature); mean "
	       "similarity %.1f/%d, min %llu\n",
	    in_rate, (unsigned long long)in_pairs, ref_rate,
	    (double)sim_sum / (double)in_pairs, PROTO_FP_K,
	    (unsigned long long)sim_min);
	printf("  cross-campaign false-match rate: %.4f %% (%llu of %llu "
	       "pairs; %llu share a band key before the similarity check)\n",
	    100.0 * (double)x_hits / (double)x_pairs,
	    (unsigned long long)x_hits, (unsigned long long)x_pairs,
	    (unsigned long long)x_band);
	printf("  legit-vs-spam false-match rate: %.4f %% (%llu of %llu pairs, "
	       "%llu of %d messages; %llu pairs share a band key)\n",
	    100.0 * (double)l_hits / (double)l_pairs,
	    (unsigned long long)l_hits, (unsigned long long)l_pairs,
	    (unsigned long long)l_msgs, FQ_LEGIT, (unsigned long long)l_band);
	assert_true(in_rate >= 95.0);
	assert_true(ref_rate >= 95.0);
	assert_int_equal(x_hits, 0);
	assert_int_equal(l_hits, 0);
	free(o.p);
	free(fp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_campaigns_match_and_legit_does_not),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
