namespace FeedbackHub.Bench.Web;

/// <summary>
/// A realistic feedback comment of just under 2,000 characters (about 25 sentences, three of them risky so the check
/// has highlights to draw), and the edits an author makes to it. Every sentence ends with a five-digit exercise number,
/// so a sentence with a new number is new to the checker's sentence cache while the text keeps its exact length.
/// <see cref="Typing"/>: one sentence rewritten since the last check (what a pause while typing sends);
/// <see cref="Paste"/>: every sentence new (a pasted answer, nothing cached).
/// </summary>
public sealed class Answers
{
    public const int MaxLength = 2000;

    private static readonly string[] Clean =
    [
        "You explained your reasoning clearly before writing any code",
        "You asked clarifying questions about the input format",
        "You tested the solution against empty and very large inputs",
        "The first approach was quadratic and you noticed it yourself",
        "You named variables after what they hold, which made review easy",
        "The design covered the core requirements of the exercise",
        "You described how the service would behave when the cache is cold",
        "Your estimate of the storage needed was close to ours",
        "You split the work into small functions with clear names",
        "You wrote a failing test first and then made it pass",
        "The discussion of trade-offs between queues and polling was thorough",
        "You checked the edge case of duplicate messages without a prompt",
        "You summarised the plan before each step of the exercise",
        "Some steps needed follow-up questions to become clear",
        "You adjusted the design when the interviewer added a constraint",
        "Handling of slow dependencies was only touched on briefly",
        "You chose a data structure that fits the access pattern well",
        "The code compiled on the first try and handled the sample input",
        "You explained why the index helps the most common query",
        "Error handling was left for later and not revisited",
        "You kept the interface small and easy to test",
        "The migration plan you sketched would avoid downtime",
        "You estimated the request rate and sized the database from it",
        "Your explanation of the retry policy was precise",
        "You walked through the algorithm with a small example first",
        "The solution passed all the tests we ran at the end",
        "You identified the main bottleneck and how to measure it",
        "Naming in the second half of the exercise was less consistent",
        "You asked who the users of the system are before designing it",
        "The final summary tied the discussion together well",
        "You considered how the system would be monitored in production",
        "You spotted an off-by-one error while reading your own code",
    ];

    private static readonly string[] Risky =
    [
        "At his age, he may not keep up with the pace of the team",
        "I had a bad feeling about how the conversation went overall",
        "She mentioned her young kids, so the travel could be hard for her",
        "He seemed a bit too old for a fast-moving startup team",
    ];

    private readonly Random _random;
    private readonly List<string> _bases = [];
    private readonly List<int> _numbers = [];
    private int _cursor;

    public Answers(int seed)
    {
        _random = new Random(seed);
        var clean = Clean.OrderBy(_ => _random.Next()).ToList();
        var risky = Risky.OrderBy(_ => _random.Next()).Take(3).ToList();
        var length = 0;
        for (var i = 0; ; i++)
        {
            var text = i % 10 == 4 && risky.Count > 0 ? Take(risky) : Take(clean);
            var add = Sentence(text, 10000).Length + (_bases.Count > 0 ? 1 : 0);
            if (length + add > MaxLength)
                break;
            _bases.Add(text);
            _numbers.Add(NewNumber());
            length += add;
            if (clean.Count == 0)
                clean = Clean.OrderBy(_ => _random.Next()).ToList();
        }

        _cursor = _random.Next(_bases.Count);
    }

    public string Text => string.Join(' ', _bases.Select((b, i) => Sentence(b, _numbers[i])));

    /// <summary>The author rewrites the sentence under the cursor; now and then the cursor moves to another sentence.</summary>
    public string Typing()
    {
        if (_random.Next(4) == 0)
            _cursor = _random.Next(_bases.Count);
        _numbers[_cursor] = NewNumber();
        return Text;
    }

    /// <summary>Every sentence new.</summary>
    public string Paste()
    {
        for (var i = 0; i < _numbers.Count; i++)
            _numbers[i] = NewNumber();
        return Text;
    }

    private static string Sentence(string text, int number) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{text} in exercise {number}.");

    private static string Take(List<string> list)
    {
        var first = list[0];
        list.RemoveAt(0);
        return first;
    }

    private int NewNumber() => _random.Next(10000, 100000);
}
