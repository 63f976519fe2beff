// Run by OmegaT in console mode (--script): writes omegat/zhen-probe.tsv, what OmegaT itself
// made of the project: its languages, every segment (file, id, source, translation, comment),
// the matches its Fuzzy Matches pane offers for each and the glossary entries it reads.
import org.omegat.core.Core
import org.omegat.core.events.IStopped
import org.omegat.core.statistics.FindMatches
import org.omegat.gui.glossary.GlossaryReaderTSV

if (eventType.toString() != "LOAD") return ""
def clean = { s -> (s ?: "").replace("\t", " ").replace("\r", " ").replace("\n", " | ") }
def project = Core.getProject()
def props = project.getProjectProperties()
def out = new StringBuilder()
out << "LANG\t" << props.getSourceLanguage() << "\t" << props.getTargetLanguage() << "\n"
def never = { false } as IStopped
for (ste in project.getAllEntries()) {
    def info = project.getTranslationInfo(ste)
    out << "ENTRY\t" << ste.getKey().file << "\t" << ste.getKey().id << "\t" << clean(ste.getSrcText())
    out << "\t" << (info.isTranslated() ? clean(info.translation) : "") << "\t" << clean(ste.getComment()) << "\n"
    def finder = new FindMatches(project.getSourceTokenizer(), 10, false, false)
    for (match in finder.search(project, ste.getSrcText(), true, false, never)) {
        def where = match.projs ? match.projs[0] : ""
        out << "MATCH\t" << ste.getKey().id << "\t" << match.comesFrom << "\t" << match.scores[0].score
        out << "\t" << clean(where) << "\t" << clean(match.translation) << "\n"
    }
}
new File(props.getGlossaryRoot()).eachFile { file ->
    def entries = GlossaryReaderTSV.read(file, false)
    for (entry in (entries ?: [])) {
        out << "GLOSSARY\t" << file.getName() << "\t" << clean(entry.getSrcText()) << "\t"
        out << clean(entry.getLocText()) << "\t" << clean(entry.getCommentText()) << "\n"
    }
}
new File(props.getProjectInternal(), "zhen-probe.tsv").setText(out.toString(), "UTF-8")
return "zhen probe written"
