using FeedbackHub.Domain.Templates;

namespace FeedbackHub.Api.Commands;

/// <summary>
/// The templates a new employer sees first (seeded into the demo tenant). Written to be specific, kind and
/// job-related: every sentence describes observable behaviour in the interview, never the person.
/// </summary>
public static class ExampleTemplates
{
    private const string Intro =
        "Dear {{candidate.first_name}},\n\nThank you for the time you gave us while interviewing for the {{position.title}} role at {{company.name}}. "
        + "You asked for feedback, and we are glad to share it. It reflects what our interviewers observed in the interviews, measured against what this role needs right now.";

    private const string Outro =
        "We know an application takes real effort, and we appreciate yours. We hope these notes are useful as you take your next step.\n\n"
        + "Kind regards,\nThe {{company.name}} hiring team";

    private const string DecisionText = "For the {{position.title}} role, these parts of the interviews counted most in our decision:";

    private static readonly CommentPolicy ShortComment = new(true, 600);

    private static RatingBand Band(string key, string label, string text, params string[] phrases) => new(key, label, text, phrases);

    public static (string Name, TemplateContent Content) Engineering { get; } = ("Software engineering interview", new TemplateContent(
        "Your interview feedback for {{position.title}} at {{company.name}}",
        Intro,
        Outro,
        [
            new Criterion("problem-solving", "Problem solving", [
                Band("strong", "Strong", "You broke the problem into clear steps and explained the trade-offs of your approach.",
                    "You asked clarifying questions before starting to code.", "You tested your solution against edge cases without being prompted."),
                Band("meets", "Meets the bar", "You reached a working approach, with some guidance on the harder parts of the problem.",
                    "Talking through alternatives earlier would have made your reasoning easier to follow."),
                Band("developing", "Below the bar for this role", "The problem was not solved within the time, and the approach changed several times.",
                    "Practising a structured approach (restate the problem, sketch, then code) may help in similar exercises.",
                    "Considering the complexity of a solution before writing it would strengthen your answers."),
            ], ShortComment),
            new Criterion("code-quality", "Code quality", [
                Band("strong", "Strong", "Your code was readable, well named and easy to change.", "You kept functions small and focused."),
                Band("meets", "Meets the bar", "Your code worked and was mostly readable.", "Clearer names for intermediate values would help readers."),
                Band("developing", "Below the bar for this role", "The code was hard to follow and did not handle some required cases.",
                    "Writing a few tests first would have caught the missing cases.", "Splitting the solution into smaller functions would make it easier to review."),
            ], ShortComment),
            new Criterion("system-design", "System design", [
                Band("strong", "Strong", "Your design met the stated requirements and you explained how it would scale and fail.",
                    "You identified the main bottleneck and proposed a way to measure it."),
                Band("meets", "Meets the bar", "Your design covered the core requirements, with gaps in how it handles failures.",
                    "Discussing what happens when a dependency is slow or unavailable would round out the design."),
                Band("developing", "Below the bar for this role", "The design did not yet cover several core requirements of the exercise.",
                    "Starting from the requirements and the expected load would give the design a firmer base."),
            ], ShortComment),
            new Criterion("communication", "Technical communication", [
                Band("strong", "Strong", "You explained your thinking clearly and adjusted when the interviewer asked for more detail.",
                    "Your summary at the end tied the discussion together well."),
                Band("meets", "Meets the bar", "You explained your main decisions; some steps needed follow-up questions.",
                    "Stating your assumptions out loud would make your reasoning easier to follow."),
                Band("developing", "Below the bar for this role", "It was often unclear which approach you were pursuing and why.",
                    "Pausing to summarise your plan before each step may help interviewers follow you."),
            ], ShortComment),
        ],
        ["problem-solving", "system-design"],
        DecisionText));

    public static (string Name, TemplateContent Content) Sales { get; } = ("Account executive interview", new TemplateContent(
        "Your interview feedback for {{position.title}} at {{company.name}}",
        Intro,
        Outro,
        [
            new Criterion("discovery", "Discovery", [
                Band("strong", "Strong", "In the role play you asked open questions that uncovered the customer's real problem before proposing anything.",
                    "You confirmed the customer's priorities in your own words."),
                Band("meets", "Meets the bar", "You uncovered the main need; a few follow-up questions would have revealed the budget and timeline.",
                    "Asking who else is involved in the decision would complete your discovery."),
                Band("developing", "Below the bar for this role", "The pitch started before the customer's needs were clear.",
                    "Spending the first part of a call on questions rather than the product may lead to stronger proposals."),
            ], ShortComment),
            new Criterion("pipeline", "Pipeline management", [
                Band("strong", "Strong", "Your examples showed a clear, measurable process for qualifying and forecasting deals.",
                    "You described how you decide which deals to prioritise."),
                Band("meets", "Meets the bar", "You described a workable process, with less detail on forecasting.",
                    "Concrete numbers from past quarters would make your examples stronger."),
                Band("developing", "Below the bar for this role", "The examples did not yet show a repeatable way to manage a pipeline of this size.",
                    "Preparing one or two examples with the stages, numbers and outcome of a deal would help."),
            ], ShortComment),
            new Criterion("objection-handling", "Handling objections", [
                Band("strong", "Strong", "You acknowledged the objection, asked what was behind it and answered with relevant evidence.",
                    "You turned a price objection into a conversation about value."),
                Band("meets", "Meets the bar", "You answered the objections; some answers moved to discounting quickly.",
                    "Exploring the reason behind an objection before answering it would strengthen your position."),
                Band("developing", "Below the bar for this role", "Several objections were left unanswered during the role play.",
                    "Preparing answers to the three most common objections for a product may help."),
            ], ShortComment),
        ],
        ["discovery", "objection-handling"],
        DecisionText));

    public static (string Name, TemplateContent Content) CustomerSupport { get; } = ("Customer support interview", new TemplateContent(
        "Your interview feedback for {{position.title}} at {{company.name}}",
        Intro,
        Outro,
        [
            new Criterion("troubleshooting", "Troubleshooting", [
                Band("strong", "Strong", "You narrowed the problem down step by step and confirmed the fix with the customer.",
                    "You checked the simplest causes first."),
                Band("meets", "Meets the bar", "You found the cause with a few hints from the interviewer.",
                    "Writing down what you had already ruled out would speed up your search."),
                Band("developing", "Below the bar for this role", "The exercise ended before the cause was found.",
                    "A checklist of common causes may help you structure similar cases."),
            ], ShortComment),
            new Criterion("written-communication", "Written communication", [
                Band("strong", "Strong", "Your written reply was clear, accurate and set the right expectations about next steps.",
                    "You summarised the issue in the first sentence."),
                Band("meets", "Meets the bar", "Your reply answered the question; it could be shorter and state the next step more clearly.",
                    "Ending with one clear next step would make replies easier to act on."),
                Band("developing", "Below the bar for this role", "The written reply left the customer's main question unanswered.",
                    "Re-reading the customer's message for the actual question before replying may help."),
            ], ShortComment),
            new Criterion("product-knowledge", "Learning the product", [
                Band("strong", "Strong", "You used the documentation we provided quickly and accurately during the exercise.",
                    "You found the relevant article without help."),
                Band("meets", "Meets the bar", "You found most of what you needed in the documentation.",
                    "Searching the documentation by error message can save time."),
                Band("developing", "Below the bar for this role", "The documentation was not used to answer the customer's question.",
                    "Getting familiar with a product's help centre before an exercise like this may help."),
            ], ShortComment),
        ],
        ["troubleshooting", "written-communication"],
        DecisionText));

    public static IReadOnlyList<(string Name, TemplateContent Content)> All { get; } = [Engineering, Sales, CustomerSupport];
}
