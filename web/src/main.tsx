import { createRoot } from "react-dom/client";
import { App } from "./App";
import { language, loadCatalogue } from "./i18n";
import "./styles.css";

document.documentElement.lang = language();
// The first render waits for the language's catalogue (English is in this bundle; another is a chunk of its own).
void loadCatalogue(language())
  .catch(() => undefined)
  .then(() => createRoot(document.getElementById("root")!).render(<App />));
